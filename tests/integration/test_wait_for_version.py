"""Read-your-writes on a real Redis: ViewReader.wait_for_version woken by the PUBLISH of
the writes it waits for, over one shared pub/sub connection, across a Redis restart."""

import asyncio
import time
from pathlib import Path

import pytest
from redis.asyncio import Redis, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from ostock.contract.records import Event
from ostock.infra.ports import free_port
from ostock.infra.redis import RedisServer
from ostock.views.client import RedisClient
from ostock.views.functions import load_functions
from ostock.views.generations import FixedKeys
from ostock.views.keys import Keys
from ostock.views.reader import ViewReader
from ostock.views.writer import ViewWriter
from tests.projectors import project
from tests.records import ACME, SEATS, license_event, organization_event

pytestmark = [pytest.mark.integration, pytest.mark.both_redis]

ORG = "org-1"


def organization(version: int) -> Event:
    kind = "OrganizationCreated" if version == 1 else "OrganizationUpdated"
    return organization_event(kind, ORG, version, **ACME)


def license(license_id: str, version: int) -> Event:
    kind = "LicenseCreated" if version == 1 else "LicenseUpdated"
    return license_event(kind, ORG, license_id, version, **SEATS)


async def subscribers(redis: RedisClient, key: str) -> int:
    if isinstance(redis, RedisCluster):  # sharded: counted on the key's node
        node = redis.get_node_from_key(key)
        [(_, count)] = await redis.execute_command("PUBSUB SHARDNUMSUB", key, target_nodes=node)
        return int(count)
    [(_, count)] = await redis.pubsub_numsub(key)
    return int(count)


async def until_subscribers(redis: RedisClient, key: str, count: int) -> None:
    """Wait (tests only: polling) until `key` has `count` subscribers."""
    # A deadline, not asyncio.timeout: on Python 3.11 redis-py may swallow its cancellation.
    deadline = time.monotonic() + 5
    while (found := await subscribers(redis, key)) != count:
        assert time.monotonic() < deadline, f"{key}: {found} subscribers, not {count}"
        await asyncio.sleep(0.01)


async def pubsub_connections(redis: RedisClient) -> int:
    if isinstance(redis, RedisCluster):
        nodes = redis.get_primaries()
        return sum([len(await redis.client_list(_type="pubsub", target_nodes=n)) for n in nodes])
    return len(await redis.client_list(_type="pubsub"))


async def test_a_version_already_reached_is_returned_at_once_with_no_subscription(
    redis: RedisClient, keys: Keys, reader: ViewReader
) -> None:
    await project(ViewWriter(redis, keys.base), organization(1))
    connections = await pubsub_connections(redis)
    started = time.monotonic()

    assert await reader.wait_for_version("organization", ORG, ORG, 1, 5) == 1
    assert await reader.wait_for_version("organization", ORG, ORG, 0, 5) == 1

    assert time.monotonic() - started < 0.5
    assert await pubsub_connections(redis) == connections


async def test_a_waiter_wakes_on_the_write_it_waits_for(
    redis: RedisClient, keys: Keys, reader: ViewReader
) -> None:
    writer = ViewWriter(redis, keys.base)
    await project(writer, organization(1))
    waiting = asyncio.create_task(reader.wait_for_version("organization", ORG, ORG, 3, 10))
    await until_subscribers(redis, keys.organization(ORG), 1)

    await project(writer, organization(2))
    await asyncio.sleep(0.05)
    assert not waiting.done()  # version 2 is not enough
    started = time.monotonic()
    await project(writer, organization(3))

    assert await waiting == 3
    assert time.monotonic() - started < 1
    await until_subscribers(redis, keys.organization(ORG), 0)  # released once done


async def test_a_waiter_for_a_history_wakes_on_its_new_entry(
    redis: RedisClient, keys: Keys, reader: ViewReader
) -> None:
    writer = ViewWriter(redis, keys.base)
    waiting = asyncio.create_task(reader.wait_for_version("license_history", ORG, "lic-1", 2, 10))
    await until_subscribers(redis, keys.license_history(ORG, "lic-1"), 1)

    await project(writer, license("lic-1", 1))
    await project(writer, license("lic-1", 2))

    assert await waiting == 2


async def test_after_the_timeout_the_version_reached_is_returned(
    redis: RedisClient, keys: Keys, reader: ViewReader
) -> None:
    await project(ViewWriter(redis, keys.base), license("lic-1", 1))
    started = time.monotonic()

    assert await reader.wait_for_version("license", ORG, "lic-1", 3, 0.3) == 1

    assert 0.3 <= time.monotonic() - started < 1.3
    assert await reader.wait_for_version("license", ORG, "nobody", 1, 0) == 0
    await until_subscribers(redis, keys.license(ORG, "lic-1"), 0)


async def test_waiters_share_one_connection_and_one_subscription_per_key(
    redis: RedisClient, keys: Keys, reader: ViewReader
) -> None:
    connections = await pubsub_connections(redis)
    waiters = [
        asyncio.create_task(reader.wait_for_version("license", ORG, license_id, 1, 10))
        for license_id in ["lic-a"] * 20 + ["lic-b"] * 5
    ]
    await until_subscribers(redis, keys.license(ORG, "lic-a"), 1)
    await until_subscribers(redis, keys.license(ORG, "lic-b"), 1)
    assert await pubsub_connections(redis) == connections + 1

    await project(ViewWriter(redis, keys.base), license("lic-a", 1), license("lic-b", 1))

    assert await asyncio.gather(*waiters) == [1] * 25
    await until_subscribers(redis, keys.license(ORG, "lic-a"), 0)
    await until_subscribers(redis, keys.license(ORG, "lic-b"), 0)
    await reader.close()
    assert await pubsub_connections(redis) == connections


async def test_a_waiter_survives_a_redis_restart(tmp_path: Path, keys: Keys) -> None:
    """Even when the write it waits for lands before the connection is back."""
    server = RedisServer(tmp_path, free_port())
    server.start()
    # As the API builds its client (api/main.py): bounded calls, one immediate retry.
    redis = Redis.from_url(
        server.url,
        socket_timeout=1,
        socket_connect_timeout=1,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )
    reader = ViewReader(redis, FixedKeys(keys))
    writer = ViewWriter(redis, keys.base)
    try:
        await load_functions(redis)
        await project(writer, organization(1))
        waiting = asyncio.create_task(reader.wait_for_version("organization", ORG, ORG, 2, 20))
        await until_subscribers(redis, keys.organization(ORG), 1)

        await asyncio.to_thread(server.stop)
        started = time.monotonic()
        with pytest.raises(RedisError):  # Redis down: an error, soon, never a hang
            await reader.wait_for_version("organization", ORG, ORG, 2, 5)
        assert time.monotonic() - started < 2
        await asyncio.to_thread(server.start)
        await project(writer, organization(2))

        assert await waiting == 2
    finally:
        await reader.close()
        await redis.aclose()
        server.stop()
