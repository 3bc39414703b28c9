"""Which generation of each read model readers and writers use.

A replay builds a model's next generation and switches to it (read-models/ostock.lua,
ostock/replay). Every shard (ostock.views.shards: a slot on a cluster, the whole database
on one Redis) has a generations record of its own, which the functions writing there read
(so no call reaches across slots); the writers name the generations they expect
(ShardGenerations) and a shard whose record disagrees answers STALE. Readers find the
live generations in the readers' record, ``<base>:generations``, re-read at most every
few hundred milliseconds and switched after every shard's. The generation a switch
retires is still written, then kept, for longer than that, so a reader that has not seen
the switch yet reads a complete, current view.
"""

import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, cast

import orjson

from ostock.views.client import RedisClient, publish_command
from ostock.views.functions import REPLAY_BEGIN, REPLAY_END, REPLAY_HANDOVER, REPLAY_SWITCH, fcalls
from ostock.views.keys import (
    FIRST_GENERATION,
    MODELS,
    Keys,
    generations_key,
    offsets_key,
    shard_generations_key,
    snapshot_generation,
    snapshots_key,
)
from ostock.views.shards import shards_of


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

    def __init__(self, redis: RedisClient, base: str, refresh_s: float) -> None:
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


async def snapshot_keys(redis: RedisClient, base: str, name: str) -> Keys | None:
    """The keys of snapshot `name`; None if there is no such snapshot."""
    if not await redis.hexists(snapshots_key(base), name):
        return None
    return Keys(base, dict.fromkeys(MODELS, snapshot_generation(name)))


async def snapshots(redis: RedisClient, base: str) -> dict[str, dict[str, object]]:
    """Every snapshot by name, with what it holds (ostock.replay writes it)."""
    stored = cast(dict[bytes, bytes], await redis.hgetall(snapshots_key(base)))
    return {name.decode(): orjson.loads(about) for name, about in sorted(stored.items())}


# The writers' side: the generations they expect in each shard.

#: A model's generations in a shard: live, building (or None), retiring (or None).
ShardState = tuple[str, str | None, str | None]

#: How ostock.lua names no generation.
NONE = "-"


def stale_state(answer: object) -> ShardState | None:
    """The generations a shard's record names, if `answer` (one shard's) is its STALE
    status; else None."""
    text = answer.decode() if isinstance(answer, bytes) else answer
    if not isinstance(text, str) or not text.startswith("STALE "):
        return None
    live, building, retiring = text.split()[1:4]
    return live, None if building == NONE else building, None if retiring == NONE else retiring


class ShardGenerations:
    """The generations a writer expects each shard (by its tag) to name for each model:
    those the shard last answered, else those any shard answered last (a replay changes
    every shard in turn), else the first generation alone."""

    def __init__(self) -> None:
        self._shards: dict[tuple[str, str], ShardState] = {}
        self._latest: dict[str, ShardState] = {}

    def expected(self, model: str, shard: str) -> ShardState:
        first: ShardState = (FIRST_GENERATION, None, None)
        return self._shards.get((model, shard)) or self._latest.get(model, first)

    def learn(self, model: str, shard: str, state: ShardState) -> None:
        self._shards[model, shard] = self._latest[model] = state


# The replay's side of the protocol (ostock/replay): begin, handover, switch, end, drop.

#: The key families ostock.lua keeps per generation, model and shard for replays.
BOOKKEEPING = ("offsets",)

#: FCALLs per pipeline when every shard's record is written.
SLOT_CHUNK = 2048


def new_generation() -> str:
    """A fresh generation's name: g<UTC time to the millisecond>."""
    return "g" + datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")[:-3]


async def begin(redis: RedisClient, base: str, generation: str, models: Collection[str]) -> None:
    """Mark `models` as building `generation`: the readers' record first, where a model
    already building one refuses (a ResponseError), then every shard's."""
    await redis.fcall(REPLAY_BEGIN, 1, generations_key(base), generation, *models)
    await each_shard(redis, REPLAY_BEGIN, base, (generation, *models))


def handover_call(
    base: str, model: str, generation: str, live: str, shard: str, sources: Sequence[str]
) -> tuple[Any, ...]:
    """The call handing `sources` over to the live projector of `model` (live in
    generation `live`) in the shard tagged `shard`: it answers 1 or 0 for each (refused
    while the replay building `generation` is behind there)."""
    keys = (
        shard_generations_key(base, shard),
        offsets_key(base, generation, model, shard),
        offsets_key(base, live, model, shard),
    )
    return (REPLAY_HANDOVER, len(keys), *keys, model, generation, *sources)


async def switch(
    redis: RedisClient, base: str, generation: str, models: Collection[str]
) -> list[str]:
    """Make `generation` live for every one of `models`: in every shard (writers), then in
    the readers' record; the generations replaced."""
    args = (generation, publish_command(redis), *models)
    await each_shard(redis, REPLAY_SWITCH, base, args)
    retired = await redis.fcall(REPLAY_SWITCH, 1, generations_key(base), *args)
    return [name.decode() for name in retired]


async def end(redis: RedisClient, base: str, models: Collection[str]) -> None:
    """Stop writing the generations of `models` being built or retiring: in every shard,
    then in the readers' record."""
    await each_shard(redis, REPLAY_END, base, tuple(models))
    await redis.fcall(REPLAY_END, 1, generations_key(base), *models)


async def each_shard(redis: RedisClient, function: str, base: str, args: Sequence[Any]) -> None:
    """Call `function` on every shard's generations record with `args`; raises the first
    error."""
    records = (shard_generations_key(base, shard) for shard in shards_of(redis).tags)
    calls = ((function, 1, record, *args) for record in records)
    await pipelined(redis, calls)


async def pipelined(redis: RedisClient, calls: Iterable[tuple[Any, ...]]) -> list[Any]:
    """Every FCALL of `calls`, SLOT_CHUNK per round trip (per node); their answers."""
    answers: list[Any] = []
    chunk: list[tuple[Any, ...]] = []
    for call in [*calls, None]:
        if call is not None:
            chunk.append(call)
        if chunk and (call is None or len(chunk) >= SLOT_CHUNK):
            answers += await fcalls(redis, chunk)
            chunk = []
    return answers


async def drop(redis: RedisClient, base: str, generation: str, models: Collection[str]) -> int:
    """Delete every key of `models` in `generation` (and its replay bookkeeping); returns
    how many keys went. One SCAN of the generation, then UNLINK in chunks: Redis is never
    blocked, and the keys of the generation's other models stay."""
    prefix = f"{base}:{generation}:"
    families = {family for model in models for family in MODELS[model]}
    bookkeeping = tuple(f"{kind}:{model}:" for model in models for kind in BOOKKEEPING)
    dropped = 0
    chunk: list[bytes] = []
    async for key in redis.scan_iter(match=f"{prefix}*", count=1000):
        within = key.decode()[len(prefix) :]
        if within.split(":", 1)[0] in families or within.startswith(bookkeeping):
            chunk.append(key)
        if len(chunk) >= 1000:
            dropped += await redis.unlink(*chunk)
            chunk = []
    if chunk:
        dropped += await redis.unlink(*chunk)
    return dropped
