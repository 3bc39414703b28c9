"""The Redis Functions of read-models/ostock.lua and the stores over them, on a real Redis.

Generations (ostock_project's choice of them, replays) have tests of their own:
test_generations.py. Here every view is in the first generation.
"""

import asyncio
import time

import msgpack
import orjson
import pytest
from redis.exceptions import ResponseError

from ostock.views import keys as within
from ostock.views.client import RedisClient, publish_command
from ostock.views.command_status import CommandStatus
from ostock.views.functions import COMMAND_DECIDED, COMMAND_PENDING
from ostock.views.generations import NONE, FixedKeys
from ostock.views.keys import FIRST_GENERATION, ORGANIZATIONS, Keys
from ostock.views.notifications import notifications_of
from ostock.views.projection import Projected, ViewUpdate
from ostock.views.reader import ViewReader
from ostock.views.shards import shards_of
from ostock.views.writer import Call, ViewWriter, project_call
from tests.projectors import next_offset

pytestmark = [pytest.mark.integration, pytest.mark.both_redis]

HOUR = 3600
CREATED_AT = "2024-01-01T00:00:00.000Z"
SOURCE = "organization-events:0"


def in_an_hour() -> int:
    return int(time.time()) + HOUR


def body(version: int, name: str = "Acme", created_at: str | None = CREATED_AT) -> bytes:
    return orjson.dumps(
        {"name": name, "status": "active", "version": version, "created_at": created_at}
    )


async def apply(
    redis: RedisClient, keys: Keys, organization_id: str, version: int, data: bytes
) -> int:
    """One event that sets the organization view, as the live projector sends it: 1 if
    the view took it, 0 if not."""
    key = within.organization(organization_id)
    event = (SOURCE, next_offset(), [("view", key, version, data)])
    (applied,) = await redis.fcall(*project(redis, keys, batch(event), key))  # its one slot's
    return int(applied)


def project(redis: RedisClient, keys: Keys, events: list[object] | bytes, *writes: str) -> Call:
    """The ostock_project call of `events` (or a batch as bytes), which write the keys
    `writes` (within a generation, all in one shard) of the first generation."""
    shard = shards_of(redis).of(writes[0])
    state = (FIRST_GENERATION, None, None)
    data = events
    if not isinstance(data, bytes):
        shard_batch = [(shard, FIRST_GENERATION, NONE, NONE, data)]
        data = msgpack.packb(shard_batch, use_bin_type=False)
    shards = [(shard, state, writes)]
    return project_call(keys.base, ORGANIZATIONS, shards, data, publish_command(redis))


def batch(*events: object) -> list[object]:
    """Events as ostock_project takes them in a shard (ostock.views.writer)."""
    return list(events)


def decided(redis: RedisClient, key: str, state: str, data: bytes) -> Call:
    """The ostock_command_decided call of command `key`, expiring in an hour."""
    return COMMAND_DECIDED, 1, key, state, data, in_an_hour(), publish_command(redis)


async def stored(redis: RedisClient, key: str) -> tuple[int, dict[str, object]]:
    version, data = await redis.hmget(key, ["version", "body"])
    assert version is not None and data is not None
    return int(version), orjson.loads(data)


async def test_a_newer_version_applies_and_an_older_or_repeated_one_is_ignored(
    redis: RedisClient, keys: Keys
) -> None:
    key = keys.organization("a")

    assert await apply(redis, keys, "a", 1, body(1, "v1")) == 1
    assert await apply(redis, keys, "a", 3, body(3, "v3")) == 1
    assert await apply(redis, keys, "a", 3, body(3, "again")) == 0
    assert await apply(redis, keys, "a", 2, body(2, "late")) == 0

    assert await stored(redis, key) == (3, orjson.loads(body(3, "v3")))


async def test_an_update_keeps_the_stored_created_at(redis: RedisClient, keys: Keys) -> None:
    key = keys.organization("a")
    await apply(redis, keys, "a", 1, body(1, "Acme", CREATED_AT))

    await apply(redis, keys, "a", 2, body(2, "Acme Ltd", None))

    _, view = await stored(redis, key)
    assert view == {
        "name": "Acme Ltd",
        "status": "active",
        "version": 2,
        "created_at": CREATED_AT,
    }
    # The body is spliced, not re-encoded: the field order stays the projection's.
    assert list(view) == ["name", "status", "version", "created_at"]


async def test_a_name_that_looks_like_the_created_at_field_is_left_alone(
    redis: RedisClient, keys: Keys
) -> None:
    key = keys.organization("a")
    tricky = '"created_at":"1999"'
    await apply(redis, keys, "a", 1, body(1, tricky, CREATED_AT))

    await apply(redis, keys, "a", 2, body(2, tricky, None))

    _, view = await stored(redis, key)
    assert (view["name"], view["created_at"]) == (tricky, CREATED_AT)


async def test_a_tombstone_is_not_resurrected_by_a_replayed_event(
    redis: RedisClient, keys: Keys
) -> None:
    key = keys.organization("a")
    tombstone = orjson.dumps({"status": "deleted", "version": 3, "created_at": None})
    await apply(redis, keys, "a", 1, body(1))
    await apply(redis, keys, "a", 3, tombstone)

    for version in (1, 2, 3):
        assert await apply(redis, keys, "a", version, body(version, "back")) == 0

    assert (await stored(redis, key))[1]["status"] == "deleted"


async def test_events_apply_in_order_and_the_writes_applied_are_counted(
    redis: RedisClient, keys: Keys
) -> None:
    # One call writes one slot: an organization's keys, its copy's among them.
    a, b, history = (
        within.organization("a"),
        within.organization_copy("a"),
        within.organization_history("a"),
    )
    await redis.hset(keys.organization_copy("a"), mapping={"version": 5, "body": body(5, "b5")})

    applied = await redis.fcall(
        *project(redis, keys, batch(
            (SOURCE, 0, [("view", a, 1, body(1, "a1"))]),
            (SOURCE, 1, [("view", b, 4, body(4, "b4"))]),
            (SOURCE, 2, [("view", a, 2, body(2, "a2")), ("history", history, 2, b"entry-2")]),
            (SOURCE, 3, [("view", a, 1, body(1, "a1 again"))]),
        ), a, b, history)
    )  # fmt: skip

    assert applied == [3]  # one slot's answer
    assert (await stored(redis, keys.organization("a")))[1]["name"] == "a2"
    assert (await stored(redis, keys.organization_copy("a")))[1]["name"] == "b5"
    assert await redis.zrange(keys.organization_history("a"), 0, -1) == [b"entry-2"]


async def test_events_that_do_not_add_up_are_refused(redis: RedisClient, keys: Keys) -> None:
    a = within.organization("a")

    def call(events: list[object] | bytes) -> Call:
        return project(redis, keys, events, a)

    with pytest.raises(ResponseError, match="a batch is a MessagePack list of shards"):
        await redis.fcall(*call(b"\xc1 not MessagePack"))
    with pytest.raises(ResponseError, match="an event is source, offset, writes"):
        await redis.fcall(*call(batch((SOURCE, "first", [("view", a, 1, b"{}")]))))
    with pytest.raises(ResponseError, match="an event is source, offset, writes"):
        await redis.fcall(*call(batch((SOURCE, 0))))
    with pytest.raises(ResponseError, match="unknown write"):
        await redis.fcall(*call(batch((SOURCE, 0, [("drop", a, 1, b"{}")]))))
    with pytest.raises(ResponseError, match="view takes 1 keys and 2 args"):
        await redis.fcall(*call(batch((SOURCE, 0, [("view", a)]))))
    with pytest.raises(ResponseError, match="version must be a number"):
        await redis.fcall(*call(batch((SOURCE, 0, [("view", a, "one", b"{}")]))))
    # Every key a call touches is declared.
    history = within.organization_history("a")
    with pytest.raises(ResponseError, match="not declared"):
        await redis.fcall(*call(batch((SOURCE, 0, [("history", history, 1, b"entry")]))))

    assert await redis.exists(keys.organization("a")) == 0
    # A write that does not add up after one that does: the one before stays (as
    # idempotent as ever), the error is not swallowed.
    with pytest.raises(ResponseError, match="unknown write"):
        await redis.fcall(*call(batch((SOURCE, 0, [("view", a, 1, body(1)), ("drop",)]))))
    assert await redis.exists(keys.organization("a")) == 1


async def test_an_applied_view_is_announced_on_its_key_and_an_ignored_one_is_not(
    redis: RedisClient, keys: Keys
) -> None:
    key = keys.organization("a")
    notifications = notifications_of(redis)
    await redis.exists(key)  # a cluster client learns its slots
    try:
        async with notifications.watch(key, asyncio.get_running_loop().time() + 5) as waiter:
            await apply(redis, keys, "a", 1, body(1))
            await apply(redis, keys, "a", 1, body(1))
            await apply(redis, keys, "a", 2, body(2))
            announced = []
            while waiter.published < 2:
                waiter.changed.clear()
                await asyncio.wait_for(waiter.changed.wait(), 5)
                announced.append(waiter.published)
    finally:
        await notifications.close()
    assert announced in ([1, 2], [2])  # a second announcement of 1 would be an ignored write


async def test_pending_never_overwrites_a_decision(redis: RedisClient, keys: Keys) -> None:
    key = keys.command("c-1")

    assert await redis.fcall(COMMAND_PENDING, 1, key, b"pending-body", in_an_hour()) == 1
    assert await redis.fcall(COMMAND_PENDING, 1, key, b"pending-again", in_an_hour()) == 0
    assert await redis.hmget(key, ["state", "body"]) == [b"pending", b"pending-body"]

    assert await redis.fcall(*decided(redis, key, "accepted", b"accepted-body")) == 1
    assert await redis.fcall(COMMAND_PENDING, 1, key, b"pending-late", in_an_hour()) == 0

    assert await redis.hmget(key, ["state", "body"]) == [b"accepted", b"accepted-body"]
    assert HOUR - 60 < await redis.ttl(key) <= HOUR


async def test_a_decision_arriving_first_stays(redis: RedisClient, keys: Keys) -> None:
    key = keys.command("c-1")

    await redis.fcall(*decided(redis, key, "rejected", b"rejected-body"))
    await redis.fcall(COMMAND_PENDING, 1, key, b"pending-body", in_an_hour())

    assert await redis.hget(key, "state") == b"rejected"


async def test_a_decision_is_accepted_or_rejected(redis: RedisClient, keys: Keys) -> None:
    with pytest.raises(ResponseError, match="accepted or rejected"):
        await redis.fcall(*decided(redis, keys.command("c-1"), "pending", b"{}"))


async def test_a_status_already_past_its_expiry_is_not_kept(redis: RedisClient, keys: Keys) -> None:
    key = keys.command("c-1")
    long_ago = int(time.time()) - 60

    await redis.fcall(COMMAND_PENDING, 1, key, b"pending-body", long_ago)

    assert await redis.exists(key) == 0


async def test_the_writer_applies_a_batch_that_the_reader_reads_back(
    redis: RedisClient, keys: Keys
) -> None:
    writer, reader = ViewWriter(redis, keys.base), ViewReader(redis, FixedKeys(keys))
    a, b = within.organization("a"), within.organization("b")

    applied = await writer.project(
        ORGANIZATIONS,
        [
            Projected(SOURCE, 0, (ViewUpdate(a, 1, body(1, "a1")),)),
            Projected(SOURCE, 1, (ViewUpdate(b, 1, body(1, "b1")),)),
            Projected(SOURCE, 2, (ViewUpdate(a, 1, b"x"),)),
        ],
    )
    await writer.command_statuses(
        [
            CommandStatus(keys.command("c-1"), "pending", b'{"status":"pending"}', in_an_hour()),
            CommandStatus(keys.command("c-2"), "accepted", b'{"status":"accepted"}', in_an_hour()),
        ]
    )

    assert applied == 2
    assert await writer.project(ORGANIZATIONS, []) == 0
    assert await reader.organization("a") == body(1, "a1")
    assert await reader.organization_version("b") == 1
    assert await reader.organization("nobody") is None
    assert await reader.organization_version("nobody") is None
    assert await reader.command("c-1") == b'{"status":"pending"}'
    assert await reader.command("c-2") == b'{"status":"accepted"}'
    assert await reader.command("unknown") is None


async def test_the_writer_reloads_a_library_that_redis_lost(redis: RedisClient, keys: Keys) -> None:
    await redis.function_delete("ostock")

    event = Projected(SOURCE, 0, (ViewUpdate(within.organization("a"), 1, body(1)),))
    applied = await ViewWriter(redis, keys.base).project(ORGANIZATIONS, [event])

    assert applied == 1
    assert await apply(redis, keys, "b", 1, body(1)) == 1
