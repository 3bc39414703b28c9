"""`ostock replay --verify`: rebuild into a new generation, then compare it with the live
one key by key, byte for byte, and drop it: a check that changes nothing."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis

from ostock.replay.rebuild import Progress, ReplayStats, building
from ostock.settings import Settings
from ostock.views.generations import drop, end
from ostock.views.keys import FIRST_GENERATION, MODELS, generations_key
from ostock.views.models import ReadModel

# Key families that are sorted sets; the others are hashes (read-models/README.md).
SORTED_SETS = frozenset({"org-hist", "lic-hist", "lics"})
# Key pairs read in one MULTI: atomic, so a live write cannot fall between the two.
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
    settings: Settings, redis: Redis, models: Sequence[ReadModel], progress: Progress
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


async def live_generation(redis: Redis, base: str, model: str) -> str:
    """The generation of `model` readers use now."""
    live = cast(bytes | None, await redis.hget(generations_key(base), model))
    return FIRST_GENERATION if live is None else live.decode()


async def _caught_up(redis: Redis, base: str, model: str, live: str, built: str) -> None:
    """Wait (bounded) until the live generation has every event the replay applied: after
    the handover both get the same events, but the replay may have been ahead."""
    deadline = asyncio.get_running_loop().time() + CATCH_UP_S
    while asyncio.get_running_loop().time() < deadline:
        live_at = await redis.hgetall(f"{base}:{live}:offsets:{model}")
        built_at = await redis.hgetall(f"{base}:{built}:offsets:{model}")
        if all(int(live_at.get(part, -1)) >= int(at) for part, at in built_at.items()):
            return
        await asyncio.sleep(0.1)


async def compare(redis: Redis, base: str, model: str, live: str, built: str) -> list[Difference]:
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
            async with redis.pipeline(transaction=True) as pipe:
                for key in chunk:
                    for generation in (live, built):
                        _read(pipe, f"{base}:{generation}:{key}", family)
                contents = await pipe.execute()
            for i, key in enumerate(chunk):
                left, right = contents[2 * i], contents[2 * i + 1]
                if left != right:
                    differences.append(Difference(model, key, left, right))
    return differences


async def _keys(redis: Redis, prefix: str, family: str) -> set[str]:
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
