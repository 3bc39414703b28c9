"""`ostock replay --verify`: rebuild into a new generation, then compare it with the live
one key by key, byte for byte, and drop it: a check that changes nothing."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from ostock.replay.rebuild import Progress, ReplayStats, building
from ostock.settings import Settings
from ostock.views.client import RedisClient
from ostock.views.generations import drop, end
from ostock.views.keys import FIRST_GENERATION, MODELS, generations_key
from ostock.views.models import ReadModel

# Key families that are sorted sets; the others are hashes (read-models/README.md).
SORTED_SETS = frozenset({"org-hist", "lic-hist", "lics"})
# Key pairs read per round trip.
CHUNK = 200
# How long the check waits for the live projectors to apply what the replay did.
CATCH_UP_S = 30.0


@dataclass(frozen=True)
class Difference:
    """A key (within a generation) whose live and rebuilt contents differ."""

    model: str
    key: str
    live: Any
    rebuilt: Any


async def verify(
    settings: Settings, redis: RedisClient, models: Sequence[ReadModel], progress: Progress
) -> tuple[ReplayStats, list[Difference]]:
    """Rebuild `models` beside the live generation, compare, drop the rebuilt one."""
    base, names = settings.redis_prefix, [model.name for model in models]
    async with building(settings, redis, models, progress) as replay:
        await replay.live_handover()
        differences: list[Difference] = []
        for name in names:
            live = await live_generation(redis, base, name)
            await _caught_up(redis, base, name, live, replay.generation)
            differences += await compare(redis, base, name, live, replay.generation)
    await end(redis, base, names)
    await drop(redis, base, replay.generation, names)
    return replay.stats, differences


async def live_generation(redis: RedisClient, base: str, model: str) -> str:
    """The generation of `model` readers use now."""
    live = cast(bytes | None, await redis.hget(generations_key(base), model))
    return FIRST_GENERATION if live is None else live.decode()


async def _caught_up(redis: RedisClient, base: str, model: str, live: str, built: str) -> None:
    """Wait (bounded) until the live generation has every event the replay applied: after
    the handover both get the same events, but the replay may have been ahead."""
    built_keys = [
        key.decode()
        async for key in redis.scan_iter(match=f"{base}:{built}:offsets:{model}:*", count=1000)
    ]
    # Each shard's offsets of the live generation beside the built one's.
    pairs = [(key.replace(f":{built}:offsets:", f":{live}:offsets:", 1), key) for key in built_keys]
    deadline = asyncio.get_running_loop().time() + CATCH_UP_S
    while pairs and asyncio.get_running_loop().time() < deadline:
        async with redis.pipeline(transaction=False) as pipe:
            for pair in pairs:
                for key in pair:
                    pipe.hgetall(key)
            read = await pipe.execute()
        behind = [
            pair
            for pair, live_at, built_at in zip(pairs, read[::2], read[1::2], strict=True)
            if any(int(live_at.get(part, -1)) < int(at) for part, at in built_at.items())
        ]
        if not behind:
            return
        pairs = behind
        await asyncio.sleep(0.1)


async def compare(
    redis: RedisClient, base: str, model: str, live: str, built: str
) -> list[Difference]:
    """Every key of `model` whose contents differ between generations `live` and `built`
    (a key missing on one side included)."""
    differences: list[Difference] = []
    for family in MODELS[model]:
        keys = await _keys(redis, f"{base}:{live}:", family) | await _keys(
            redis, f"{base}:{built}:", family
        )
        ordered = sorted(keys)
        for start in range(0, len(ordered), CHUNK):
            chunk = ordered[start : start + CHUNK]
            contents = await _pairs(redis, base, family, (live, built), chunk, atomic=False)
            differing = [
                key for key, (left, right) in zip(chunk, contents, strict=True) if left != right
            ]
            # A live write may have fallen between the two reads of a pair: a pair that
            # differs is read again in one MULTI (its keys share a slot), atomic.
            for key in differing:
                ((left, right),) = await _pairs(redis, base, family, (live, built), [key], True)
                if left != right:
                    differences.append(Difference(model, key, left, right))
    return differences


async def _pairs(
    redis: RedisClient,
    base: str,
    family: str,
    generations: tuple[str, str],
    keys: list[str],
    atomic: bool,
) -> list[tuple[Any, Any]]:
    """The contents of each key of `keys` in both `generations`."""
    async with redis.pipeline(transaction=atomic) as pipe:
        for key in keys:
            for generation in generations:
                _read(pipe, f"{base}:{generation}:{key}", family)
        contents = await pipe.execute()
    return list(zip(contents[::2], contents[1::2], strict=True))


async def _keys(redis: RedisClient, prefix: str, family: str) -> set[str]:
    """The keys (within the generation) of one family under `prefix`."""
    start = len(prefix)
    return {
        key.decode()[start:]
        async for key in redis.scan_iter(match=f"{prefix}{family}:*", count=1000)
    }


def _read(pipe: Any, key: str, family: str) -> None:
    if family in SORTED_SETS:
        pipe.zrange(key, 0, -1, withscores=True)
    else:
        pipe.hgetall(key)
