"""Replays through the real processes: a workload of more than 10,000 events rebuilt into a
new generation while commands keep arriving, readers switched without a gap, the result
verified byte for byte, a snapshot at a known moment, and one read model on its own."""

import asyncio
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import cast
from uuid import uuid4

import httpx
import pytest

from ostock.deployables import PROCESSES
from ostock.kafka.publisher import CommandPublisher
from ostock.settings import Settings, settings_env
from ostock.views.client import redis_client
from ostock.views.generations import LiveKeys
from ostock.views.keys import (
    FIRST_GENERATION,
    MODELS,
    ORGANIZATIONS,
    generations_key,
    snapshot_generation,
)
from ostock.views.reader import ViewReader
from tests.processes import Worker
from tests.workload import Phase, Workload, build, updates, wait_for_views

VIEW_PROJECTORS = ("organization-projector", "license-projector", "licensing-organizations")


@pytest.fixture(scope="module")
def replay_settings(
    system: dict[str, Worker], system_settings: Settings, redis_url: str
) -> Settings:
    """The session's system, its views built under a base of this module's own, on the
    test's Redis (both_redis: once on the Redis Cluster)."""
    update = {"redis_prefix": f"replay-{uuid4().hex[:8]}", "redis_url": redis_url}
    return system_settings.model_copy(update=update)


@pytest.fixture(scope="module")
def projectors(
    replay_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """The live projectors of that base (their own consumer groups)."""
    logs = tmp_path_factory.mktemp("replay-logs")
    workers = [
        Worker(PROCESSES[name], replay_settings, logs / f"{name}.log").start()
        for name in VIEW_PROJECTORS
    ]
    yield
    for worker in workers:
        worker.stop()


def ostock(settings: Settings, *args: str) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, "-m", "ostock", *args],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=300,
    )


def publish(settings: Settings, work: Workload, base: str) -> None:
    """Send each phase, waiting for its views before the next."""
    publisher = CommandPublisher(settings)
    for phase in work.phases:
        publisher.publish(phase.commands)
        asyncio.run(wait_for_views(settings, phase.versions))


async def read_while(running: subprocess.Popen[str], settings: Settings, work: Workload) -> int:
    """Read sampled organizations through the live generations until the replay ends: each
    one is there on every read, its version never going back. Returns the reads made."""
    sample = random.sample(sorted(work.versions.organizations), 50)
    seen = dict.fromkeys(sample, 0)
    reads = 0
    async with redis_client(settings) as redis:
        reader = ViewReader(redis, LiveKeys(redis, settings.redis_prefix, refresh_s=0.05))
        while running.poll() is None:
            for organization_id in sample:
                version = await reader.organization_version(organization_id)
                assert version is not None, f"organization {organization_id} missing mid-replay"
                assert version >= seen[organization_id], "a view went back mid-replay"
                seen[organization_id] = version
                reads += 1
            await asyncio.sleep(0.01)
        await reader.close()
    return reads


def generations(settings: Settings) -> dict[str, str]:
    async def read() -> dict[str, str]:
        async with redis_client(settings) as redis:
            state = cast(
                dict[bytes, bytes], await redis.hgetall(generations_key(settings.redis_prefix))
            )
        return {field.decode(): value.decode() for field, value in state.items()}

    return asyncio.run(read())


def count_keys(settings: Settings, pattern: str) -> int:
    async def count() -> int:
        async with redis_client(settings) as redis:
            return len([key async for key in redis.scan_iter(match=pattern, count=1000)])

    return asyncio.run(count())


@pytest.mark.both_redis
def test_replay_switch_verify_snapshot_and_one_model(
    replay_settings: Settings, projectors: None
) -> None:
    base = replay_settings.redis_prefix
    work = build(organizations=800, licenses_each=5)
    assert work.versions.events >= 10_000
    publish(replay_settings, work, base)
    before_more = datetime.now(UTC)
    time.sleep(0.05)  # the snapshot's moment is strictly between the two workloads

    # The replay runs while more commands arrive and readers read.
    more = updates(work, every=4)
    replay = subprocess.Popen(
        [sys.executable, "-m", "ostock", "replay"],
        env=settings_env(replay_settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    sender = threading.Thread(target=_trickle, args=(replay_settings, more))
    sender.start()
    reads = asyncio.run(read_while(replay, replay_settings, work))
    sender.join()
    output = replay.communicate()[0]
    assert replay.returncode == 0, output
    assert "switched organizations, licenses, organization-copies" in output
    assert reads > 0

    live = generations(replay_settings)
    assert {live[model] for model in MODELS} != {FIRST_GENERATION}
    assert len({live[model] for model in MODELS}) == 1  # one switch for all
    assert not any(field.endswith((":building", ":retiring")) for field in live)
    assert count_keys(replay_settings, f"{base}:{FIRST_GENERATION}:*") == 0  # old one dropped
    asyncio.run(wait_for_views(replay_settings, more.versions))

    verified = ostock(replay_settings, "replay", "--verify")
    assert verified.returncode == 0, verified.stderr
    assert "equal the live ones, byte for byte" in verified.stderr

    # A snapshot at a moment between the two workloads shows the first only.
    taken = ostock(
        replay_settings, "replay", "--until", before_more.isoformat(), "--snapshot", "before"
    )
    assert taken.returncode == 0, taken.stderr
    updated = more.commands[0].meta.organization_id
    version = more.versions.organizations[updated]
    versions = asyncio.run(_versions(replay_settings, updated))
    assert versions == {"live": version, "before": version - 1}
    listed = ostock(replay_settings, "snapshots", "list")
    assert listed.stdout.startswith("before\tuntil ")
    assert ostock(replay_settings, "snapshots", "drop", "before").returncode == 0
    assert count_keys(replay_settings, f"{base}:{snapshot_generation('before')}:*") == 0

    # A damaged view is found; rebuilding its model alone mends it.
    organization_id, license_id = next(iter(work.versions.licenses))
    asyncio.run(_damage(replay_settings, organization_id, license_id))
    damaged = ostock(replay_settings, "replay", "--verify", "--model", "licenses")
    assert damaged.returncode == 1
    assert f"differs: licenses lic:{{{organization_id}}}:{license_id}\n" in damaged.stdout
    rebuilt = ostock(replay_settings, "replay", "--model", "licenses")
    assert rebuilt.returncode == 0, rebuilt.stderr
    after = generations(replay_settings)
    assert after[ORGANIZATIONS] == live[ORGANIZATIONS]
    assert after["licenses"] != live["licenses"]
    assert ostock(replay_settings, "replay", "--verify").returncode == 0


def _trickle(settings: Settings, more: Phase) -> None:
    """Send the commands a few at a time, as a live system gets them."""
    publisher = CommandPublisher(settings)
    commands = more.commands
    for start in range(0, len(commands), 10):
        publisher.publish(commands[start : start + 10])
        time.sleep(0.02)


async def _versions(settings: Settings, organization_id: str) -> dict[str, int | None]:
    async with redis_client(settings) as redis:
        live = ViewReader(redis, LiveKeys(redis, settings.redis_prefix, refresh_s=1))
        snapshot = await live.snapshot("before")
        assert snapshot is not None
        return {
            "live": await live.organization_version(organization_id),
            "before": await snapshot.organization_version(organization_id),
        }


async def _damage(settings: Settings, organization_id: str, license_id: str) -> None:
    async with redis_client(settings) as redis:
        keys = await LiveKeys(redis, settings.redis_prefix, refresh_s=1).keys()
        await redis.hset(keys.license(organization_id, license_id), "body", b"{}")


def test_api_serves_a_snapshot(api: httpx.Client, system_settings: Settings) -> None:
    created = api.post(
        "/v1/organizations",
        json={
            "name": "Snapshot Corp",
            "contact_name": "Ann",
            "contact_email": "ann@example.org",
            "contact_phone": "+1 555 0100",
        },
    )
    assert created.status_code == 202, created.text
    organization_id = created.json()["organization_id"]
    live = api.get(f"/v1/organizations/{organization_id}", params={"min_version": 1})
    assert live.status_code == 200
    name = f"api-{uuid4().hex[:6]}"
    now = datetime.now(UTC).isoformat()
    taken = ostock(system_settings, "replay", "--until", now, "--snapshot", name)
    assert taken.returncode == 0, taken.stderr
    try:
        at = api.get(f"/v1/organizations/{organization_id}", params={"snapshot": name})
        assert at.status_code == 200
        assert at.content == live.content  # byte for byte as the live view
        missing = api.get(f"/v1/organizations/{organization_id}", params={"snapshot": "nope"})
        assert missing.status_code == 404
        assert "no snapshot" in missing.json()["detail"]
    finally:
        ostock(system_settings, "snapshots", "drop", name)
