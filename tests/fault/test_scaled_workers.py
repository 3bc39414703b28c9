"""Two copies of every worker in one run, as `ostock run --scale 2` starts them: each
group spreads its partitions over both; one copy of each is SIGKILLed while commands
flow, and the other takes its partitions over; every command is decided once and rightly,
and every view equals a replay of the log."""

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from ostock.deployables import PROCESSES, SINGLE, consumer_group
from ostock.infra.ports import free_port, free_port_block
from ostock.kafka.lag import LagReader, Member
from ostock.kafka.publisher import CommandPublisher
from ostock.kafka.topic_reader import Partition
from ostock.settings import Settings
from tests.decisions import assert_decided_rightly, assert_one_result_each
from tests.flow import Flow
from tests.integration.test_replay import ostock
from tests.isolated import isolated
from tests.processes import Worker, running_system
from tests.workload import Phase, build, wait_for_views

pytestmark = pytest.mark.integration

#: Every process that shares a group with its copies.
SCALED = [name for name in PROCESSES if name not in SINGLE]
WAIT_S = 90.0


@pytest.fixture
def own(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """Topics, a Redis and a key base of the test's own; every copy's /metrics on a free
    port; instance names of the test's own, so its members are told apart in the handlers'
    groups, which other tests' handlers may share."""
    update = {
        "instance": f"scale-{uuid4().hex[:8]}",
        "scale": 2,
        "metrics_port_base": free_port_block(2 * len(PROCESSES)),
        "api_port": free_port(),
    }
    with isolated(settings, tmp_path, "scale", **update) as (own, _):
        yield own


@pytest.fixture
def workers(own: Settings, tmp_path: Path) -> Iterator[dict[str, Worker]]:
    """The whole system with two copies of every scaled worker (`<process>-2`)."""
    with running_system(own, tmp_path, own.scale) as workers:
        yield workers


def members(reader: LagReader, own: Settings) -> dict[str, list[Member]]:
    """The members of each scaled process's group that are copies of this test's, with
    their partitions of the test's topics only."""
    groups = {name: consumer_group(own, name) or "" for name in SCALED}
    topics = {topic for _, topic in own.topics}
    found = reader.members(list(groups.values()))
    assert own.instance is not None
    return {
        name: [
            Member(
                m.client_id, m.host, m.instance, tuple(p for p in m.partitions if p[0] in topics)
            )
            for m in found[group]
            if own.instance in (m.instance or m.client_id)
        ]
        for name, group in groups.items()
    }


def wait_spread(reader: LagReader, own: Settings) -> dict[str, set[Partition]]:
    """Until both copies of every scaled process own partitions; what each group owns."""
    deadline = time.monotonic() + WAIT_S
    while True:
        found = members(reader, own)
        spread = all(len(ms) == 2 and all(m.partitions for m in ms) for ms in found.values())
        if spread:
            return {name: {p for m in ms for p in m.partitions} for name, ms in found.items()}
        assert time.monotonic() < deadline, f"partitions not spread in {WAIT_S}s: {found}"
        time.sleep(0.5)


def wait_taken_over(
    reader: LagReader, own: Settings, owned: dict[str, set[Partition]], since: float
) -> dict[str, float]:
    """Until one copy of every scaled process owns all its group owned; the seconds from
    `since` each took."""
    took: dict[str, float] = {}
    while len(took) < len(owned):
        for name, ms in members(reader, own).items():
            if name not in took and len(ms) == 1 and set(ms[0].partitions) >= owned[name]:
                took[name] = time.monotonic() - since
        left = set(owned) - set(took)
        assert time.monotonic() - since < WAIT_S, f"{left} not taken over in {WAIT_S}s"
        time.sleep(0.2)
    return took


def status(own: Settings) -> tuple[int, dict[str, Any]]:
    """`ostock status --json` (every copy of the scale): its exit status and report."""
    done = ostock(own, "status", "--json")
    return done.returncode, json.loads(done.stdout)


def send(own: Settings, phase: Phase) -> None:
    CommandPublisher(own).publish(phase.commands)
    asyncio.run(wait_for_views(own, phase.versions))


def test_two_copies_of_every_worker_share_the_work_and_one_takes_over_when_the_other_dies(
    own: Settings, workers: dict[str, Worker]
) -> None:
    began = time.monotonic()
    organizations, licenses, deletions = build(organizations=200, licenses_each=2).phases
    reader = LagReader(own)
    try:
        owned = wait_spread(reader, own)
        code, report = status(own)
        assert code == 0, report["problems"]
        assert {p["name"] for p in report["processes"] if p["up"]} == set(workers)
        send(own, organizations)

        # Licenses flow while one copy of each worker dies, as when its machine does.
        with Flow(own, licenses.commands, chunk=20, every_s=0.1):
            time.sleep(1)
            killed_at = time.monotonic()
            for name in SCALED:
                workers[f"{name}-2"].kill()
            took = wait_taken_over(reader, own, owned, killed_at)
    finally:
        reader.close()
    print(f"taken over after a SIGKILL (s): {took}")
    code, report = status(own)
    assert code == 1
    assert set(report["problems"]) == {f"{name}-2 is down" for name in SCALED}
    asyncio.run(wait_for_views(own, licenses.versions))
    # Judged before the deletions: the checker takes an organization's standing as the
    # organization events end with it.
    assert_decided_rightly(
        own, licenses.commands, own.topics.license_commands, own.topics.license_events
    )
    send(own, deletions)  # the saga's survivor deletes the licenses left

    assert_decided_rightly(
        own,
        organizations.commands + deletions.commands,
        own.topics.organization_commands,
        own.topics.organization_events,
    )
    assert_one_result_each(own)
    verified = ostock(own, "replay", "--verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "equal the live ones, byte for byte" in verified.stderr
    exited = [name for name in SCALED if not workers[name].alive()]
    assert not exited, f"survivors {exited} exited"
    print(f"the test took {time.monotonic() - began:.1f} s")
