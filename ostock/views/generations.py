"""Which generation of each read model readers use: the live ones, or a snapshot's.

A replay builds a model's next generation and switches to it atomically in Redis
(read-models/ostock.lua, ostock/replay); readers find the live generations in the hash
``<base>:generations``, re-read at most every few hundred milliseconds. The generation
a switch retires is still written, then kept, for longer than that, so a reader that
has not seen the switch yet reads a complete, current view.
"""

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, cast

import orjson
from redis.asyncio import Redis

from ostock.views.functions import REPLAY_BEGIN, REPLAY_END, REPLAY_SWITCH
from ostock.views.keys import MODELS, Keys, generations_key, snapshot_generation, snapshots_key


class KeysSource(Protocol):
    """Where a reader gets the keys of the generations it reads."""

    async def keys(self) -> Keys: ...


@dataclass(frozen=True)
class FixedKeys:
    """Always the same generations: a snapshot's."""

    fixed: Keys

    async def keys(self) -> Keys:
        return self.fixed


def live_generations(state: Mapping[bytes, bytes]) -> dict[str, str]:
    """Each model's live generation, from the fields of ``<base>:generations``."""
    return {model: state[model.encode()].decode() for model in MODELS if model.encode() in state}


def building_generations(state: Mapping[bytes, bytes]) -> dict[str, str]:
    """Each model a replay is building a generation of, and that generation's name."""
    fields = {model: f"{model}:building".encode() for model in MODELS}
    return {model: state[field].decode() for model, field in fields.items() if field in state}


class LiveKeys:
    """The keys of the live generations, read again once `refresh_s` has passed."""

    def __init__(self, redis: Redis, base: str, refresh_s: float) -> None:
        self.redis = redis
        self.base = base
        self.refresh_s = refresh_s
        self._keys = Keys(base)
        self._read_at = -refresh_s

    async def keys(self) -> Keys:
        now = time.monotonic()
        if now - self._read_at >= self.refresh_s:
            state = cast(dict[bytes, bytes], await self.redis.hgetall(generations_key(self.base)))
            self._keys = Keys(self.base, live_generations(state))
            self._read_at = now
        return self._keys


async def snapshot_keys(redis: Redis, base: str, name: str) -> Keys | None:
    """The keys of snapshot `name`; None if there is no such snapshot."""
    if not await redis.hexists(snapshots_key(base), name):
        return None
    return Keys(base, dict.fromkeys(MODELS, snapshot_generation(name)))


async def snapshots(redis: Redis, base: str) -> dict[str, dict[str, object]]:
    """Every snapshot by name, with what it holds (ostock.replay writes it)."""
    stored = cast(dict[bytes, bytes], await redis.hgetall(snapshots_key(base)))
    return {name.decode(): orjson.loads(about) for name, about in sorted(stored.items())}


# The replay's side of the protocol (ostock/replay): begin, switch, end, drop.

#: The keys ostock.lua keeps per generation and model for replays.
BOOKKEEPING = ("offsets", "handover")


def new_generation() -> str:
    """A fresh generation's name: g<UTC time to the millisecond>."""
    return "g" + datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")[:-3]


async def begin(redis: Redis, base: str, generation: str, models: Collection[str]) -> None:
    """Mark `models` as building `generation`; a ResponseError if one already builds one."""
    await redis.fcall(REPLAY_BEGIN, 0, base, generation, *models)


async def switch(redis: Redis, base: str, generation: str, models: Collection[str]) -> list[str]:
    """Make `generation` live for every one of `models` at once; the generations replaced."""
    retired = await redis.fcall(REPLAY_SWITCH, 0, base, generation, *models)
    return [name.decode() for name in retired]


async def end(redis: Redis, base: str, models: Collection[str]) -> None:
    """Stop writing the generations of `models` being built or retiring."""
    await redis.fcall(REPLAY_END, 0, base, *models)


async def drop(redis: Redis, base: str, generation: str, models: Collection[str]) -> int:
    """Delete every key of `models` in `generation` (and its replay bookkeeping); returns
    how many keys went. One SCAN of the generation, then UNLINK in chunks: Redis is never
    blocked, and the keys of the generation's other models stay."""
    prefix = f"{base}:{generation}:"
    families = {family for model in models for family in MODELS[model]}
    bookkeeping = {f"{kind}:{model}" for model in models for kind in BOOKKEEPING}
    dropped = 0
    chunk: list[bytes] = []
    async for key in redis.scan_iter(match=f"{prefix}*", count=1000):
        within = key.decode()[len(prefix) :]
        if within.split(":", 1)[0] in families or within in bookkeeping:
            chunk.append(key)
        if len(chunk) >= 1000:
            dropped += await redis.unlink(*chunk)
            chunk = []
    if chunk:
        dropped += await redis.unlink(*chunk)
    return dropped
