"""Read models in generations, on a real Redis: which generation ostock_project writes,
and a replay's handover, switch and end (read-models/ostock.lua).

A replay builds a model's next generation from the log while the live projector keeps
writing the live one. Once the replay has caught up with a partition (a source), it
hands the source over: from then on the live projector writes that source's events to
the built generation too, each one the replay has not applied yet. The switch then makes
the built generation live for every model at once.
"""

import asyncio
from functools import cache
from typing import cast

import orjson
import pytest
from redis.exceptions import ResponseError

from ostock.views import keys as within
from ostock.views.client import RedisClient
from ostock.views.generations import (
    LiveKeys,
    begin,
    end,
    handover_call,
    switch,
)
from ostock.views.keys import (
    FIRST_GENERATION,
    LICENSES,
    ORGANIZATION_COPIES,
    ORGANIZATIONS,
    Keys,
    generations_key,
    offsets_key,
    shard_generations_key,
    slot_of,
)
from ostock.views.notifications import notifications_of
from ostock.views.projection import Projected, ViewUpdate
from ostock.views.reader import ViewReader
from ostock.views.shards import shards_of
from ostock.views.writer import ViewWriter

pytestmark = [pytest.mark.integration, pytest.mark.both_redis]

SOURCE, OTHER = "organization-events:0", "organization-events:1"
# The organizations of these tests share one slot, so one shard on either Redis: its
# offsets are the partition's.
SLOT = 1234


@cache
def organization_id(name: str) -> str:
    """An organization id starting with `name`, in SLOT."""
    return next(
        f"{name}-{n}" for n in range(10**6) if slot_of(within.organization(f"{name}-{n}")) == SLOT
    )


def event(offset: int, name: str, source: str = SOURCE) -> Projected:
    """The creation of organization `name`, at `offset` of `source`."""
    body = orjson.dumps({"organization_id": organization_id(name), "version": 1})
    view = ViewUpdate(within.organization(organization_id(name)), 1, body)
    return Projected(source, offset, (view,))


def events(offsets: range, source: str = SOURCE) -> list[Projected]:
    """The creation of organization o<offset> at each offset."""
    return [event(offset, f"o{offset}", source) for offset in offsets]


async def organizations_in(redis: RedisClient, keys: Keys, generation: str) -> set[str]:
    """The names of the organizations whose view is in `generation`."""
    pattern = Keys(keys.base, {ORGANIZATIONS: generation}).organization("*")
    found = [key.decode() async for key in redis.scan_iter(match=pattern, count=1000)]
    return {key.rsplit("{", 1)[1].rstrip("}").rsplit("-", 1)[0] for key in found}


async def generations(redis: RedisClient, keys: Keys) -> dict[str, str]:
    """The readers' record."""
    state = cast(dict[bytes, bytes], await redis.hgetall(generations_key(keys.base)))
    return {field.decode(): value.decode() for field, value in state.items()}


def shard(redis: RedisClient) -> str:
    """The tag of SLOT's shard (ostock.views.shards)."""
    return shards_of(redis).of(within.organization(organization_id("any")))


async def shard_record(redis: RedisClient, keys: Keys) -> dict[str, str]:
    """The generations record of SLOT's shard."""
    record = shard_generations_key(keys.base, shard(redis))
    state = cast(dict[bytes, bytes], await redis.hgetall(record))
    return {field.decode(): value.decode() for field, value in state.items()}


async def built_offset(redis: RedisClient, keys: Keys, generation: str, source: str) -> int | None:
    """The offset of `source` that `generation` of organizations was last written at in
    SLOT's shard."""
    offsets = offsets_key(keys.base, generation, ORGANIZATIONS, shard(redis))
    offset = await redis.hget(offsets, source)
    return None if offset is None else int(offset)


class Replay:
    """The replay's side of ostock.lua, for one base (ostock.views.generations)."""

    def __init__(self, redis: RedisClient, keys: Keys) -> None:
        self.redis = redis
        self.base = keys.base
        self.writer = ViewWriter(redis, keys.base)

    async def begin(self, generation: str, *models: str) -> None:
        await begin(self.redis, self.base, generation, models)

    async def apply(self, generation: str, projected: list[Projected]) -> int:
        return await self.writer.replay(generation, [(ORGANIZATIONS, projected)])

    async def handover(self, generation: str, source: str, model: str = ORGANIZATIONS) -> int:
        """Hand `source` over in SLOT's shard: 1 if done, 0 if refused."""
        tag = shard(self.redis)
        call = handover_call(self.base, model, generation, FIRST_GENERATION, tag, [source])
        (answer,) = await self.redis.fcall(*call)
        return int(answer)

    async def switch(self, generation: str, *models: str) -> list[str]:
        return await switch(self.redis, self.base, generation, models)

    async def end(self, *models: str) -> None:
        await end(self.redis, self.base, models)


async def test_the_live_projector_writes_the_generation_named_live(
    redis: RedisClient, keys: Keys
) -> None:
    writer = ViewWriter(redis, keys.base)
    await writer.project(ORGANIZATIONS, [event(0, "first")])
    await redis.hset(shard_generations_key(keys.base, shard(redis)), ORGANIZATIONS, "g7")
    await redis.hset(generations_key(keys.base), ORGANIZATIONS, "g7")

    assert await writer.project(ORGANIZATIONS, [event(1, "a")]) == 1  # after a STALE answer

    assert await organizations_in(redis, keys, "g7") == {"a"}
    assert await organizations_in(redis, keys, "g0") == {"first"}  # g0 until a generation is named
    assert await built_offset(redis, keys, "g7", SOURCE) == 1
    # Readers find it the same way: the other models are still in g0.
    live = LiveKeys(redis, keys.base, refresh_s=60)
    assert await live.keys() == Keys(keys.base, {ORGANIZATIONS: "g7"})
    assert await ViewReader(redis, live).organization_version(organization_id("a")) == 1


async def test_a_built_generation_gets_a_sources_live_events_once_it_is_handed_over(
    redis: RedisClient, keys: Keys
) -> None:
    writer, replay = ViewWriter(redis, keys.base), Replay(redis, keys)
    await writer.project(ORGANIZATIONS, events(range(0, 2)))
    await replay.begin("g1", ORGANIZATIONS)

    await writer.project(ORGANIZATIONS, events(range(2, 3)))  # not handed over yet
    assert await organizations_in(redis, keys, "g1") == set()
    assert await replay.apply("g1", events(range(0, 3))) == 3
    assert await replay.handover("g1", SOURCE) == 1
    await writer.project(ORGANIZATIONS, [event(3, "o3"), event(0, "other-0", OTHER)])

    assert await organizations_in(redis, keys, "g1") == {"o0", "o1", "o2", "o3"}
    assert await organizations_in(redis, keys, "g0") == {"o0", "o1", "o2", "o3", "other-0"}
    assert await built_offset(redis, keys, "g1", SOURCE) == 3
    assert await built_offset(redis, keys, "g1", OTHER) is None


async def test_after_the_handover_only_events_past_the_replays_offset_reach_the_built_generation(
    redis: RedisClient, keys: Keys
) -> None:
    writer, replay = ViewWriter(redis, keys.base), Replay(redis, keys)
    await replay.begin("g1", ORGANIZATIONS)
    await replay.apply("g1", events(range(0, 5)))
    assert await replay.handover("g1", SOURCE) == 1  # ahead of the live projector

    # The live projector, behind, gets to offsets 3 and 4, which the replay applied.
    applied = await writer.project(ORGANIZATIONS, [event(3, "x3"), event(4, "x4"), event(5, "x5")])

    assert applied == 3  # the count is the live generation's
    assert await organizations_in(redis, keys, "g0") == {"x3", "x4", "x5"}
    assert await organizations_in(redis, keys, "g1") == {"o0", "o1", "o2", "o3", "o4", "x5"}
    assert await built_offset(redis, keys, "g1", SOURCE) == 5
    # And the other way round: the replay skips what the live projector applied.
    assert await replay.apply("g1", [event(5, "y5"), event(6, "o6")]) == 1
    assert "y5" not in await organizations_in(redis, keys, "g1")


async def test_a_handover_is_refused_while_the_replay_is_behind_the_live_projector(
    redis: RedisClient, keys: Keys
) -> None:
    writer, replay = ViewWriter(redis, keys.base), Replay(redis, keys)
    await writer.project(ORGANIZATIONS, events(range(0, 6)))
    await replay.begin("g1", ORGANIZATIONS)
    await replay.apply("g1", events(range(0, 4)))

    assert await replay.handover("g1", SOURCE) == 0
    await writer.project(ORGANIZATIONS, events(range(6, 7)))
    assert "o6" not in await organizations_in(redis, keys, "g1")  # still not handed over

    await replay.apply("g1", events(range(4, 7)))
    assert await replay.handover("g1", SOURCE) == 1
    await writer.project(ORGANIZATIONS, events(range(7, 8)))
    assert await organizations_in(redis, keys, "g1") == {f"o{n}" for n in range(8)}

    with pytest.raises(ResponseError, match="organizations is not building g2"):
        await replay.handover("g2", SOURCE)


async def test_a_switch_makes_the_built_generation_live_for_every_model_at_once(
    redis: RedisClient, keys: Keys
) -> None:
    writer, replay = ViewWriter(redis, keys.base), Replay(redis, keys)
    await replay.begin("g1", ORGANIZATIONS, ORGANIZATION_COPIES)
    await replay.apply("g1", events(range(0, 1)))
    await replay.handover("g1", SOURCE)
    notifications = notifications_of(redis)
    deadline = asyncio.get_running_loop().time() + 5
    try:
        async with notifications.watch(generations_key(keys.base), deadline) as waiter:
            waiter.changed.clear()  # the subscription's confirmation
            assert await replay.switch("g1", ORGANIZATIONS, ORGANIZATION_COPIES) == ["g0", "g0"]
            await asyncio.wait_for(waiter.changed.wait(), 5)  # announced
    finally:
        await notifications.close()
    assert await generations(redis, keys) == {
        ORGANIZATIONS: "g1",
        f"{ORGANIZATIONS}:retiring": "g0",
        ORGANIZATION_COPIES: "g1",
        f"{ORGANIZATION_COPIES}:retiring": "g0",
    }
    assert await shard_record(redis, keys) == await generations(redis, keys)  # no handover left
    live = await LiveKeys(redis, keys.base, refresh_s=60).keys()
    assert live == Keys(keys.base, {ORGANIZATIONS: "g1", ORGANIZATION_COPIES: "g1"})
    # The retired generation is still written, for the readers that have not moved yet.
    await writer.project(ORGANIZATIONS, events(range(1, 2)))
    assert await organizations_in(redis, keys, "g1") == {"o0", "o1"}
    assert await organizations_in(redis, keys, "g0") == {"o1"}


async def test_a_switch_is_refused_as_a_whole_unless_every_model_builds_that_generation(
    redis: RedisClient, keys: Keys
) -> None:
    replay = Replay(redis, keys)
    await replay.begin("g1", ORGANIZATIONS)

    with pytest.raises(ResponseError, match="licenses is not building g1"):
        await replay.switch("g1", ORGANIZATIONS, LICENSES)

    assert await generations(redis, keys) == {f"{ORGANIZATIONS}:building": "g1"}


async def test_a_model_builds_one_generation_at_a_time(redis: RedisClient, keys: Keys) -> None:
    replay = Replay(redis, keys)
    await replay.begin("g1", ORGANIZATIONS)

    with pytest.raises(ResponseError, match="organizations is already building g1"):
        await replay.begin("g2", LICENSES, ORGANIZATIONS)

    assert await generations(redis, keys) == {f"{ORGANIZATIONS}:building": "g1"}


async def test_the_end_of_a_replay_stops_writing_the_retired_generation(
    redis: RedisClient, keys: Keys
) -> None:
    writer, replay = ViewWriter(redis, keys.base), Replay(redis, keys)
    await replay.begin("g1", ORGANIZATIONS)
    await replay.handover("g1", SOURCE)
    await replay.switch("g1", ORGANIZATIONS)

    await replay.end(ORGANIZATIONS)
    await writer.project(ORGANIZATIONS, events(range(0, 1)))

    assert await generations(redis, keys) == {ORGANIZATIONS: "g1"}
    assert await organizations_in(redis, keys, "g1") == {"o0"}
    assert await organizations_in(redis, keys, "g0") == set()


async def test_a_replay_given_up_is_no_longer_written_and_another_may_begin(
    redis: RedisClient, keys: Keys
) -> None:
    writer, replay = ViewWriter(redis, keys.base), Replay(redis, keys)
    await replay.begin("g1", ORGANIZATIONS)
    assert await replay.handover("g1", SOURCE) == 1

    await replay.end(ORGANIZATIONS)
    await writer.project(ORGANIZATIONS, events(range(0, 1)))

    assert await organizations_in(redis, keys, "g1") == set()
    assert await organizations_in(redis, keys, "g0") == {"o0"}
    await replay.begin("g2", ORGANIZATIONS)
    assert await generations(redis, keys) == {f"{ORGANIZATIONS}:building": "g2"}
