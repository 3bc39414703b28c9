"""Writing the read models: the projectors' and the replay's ViewWriter."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from time import perf_counter
from typing import Any

import msgpack
from opentelemetry.trace import Tracer
from redis.exceptions import ResponseError

from ostock.telemetry.labels import child
from ostock.telemetry.metrics import REDIS_DURATION
from ostock.views.client import RedisClient, publish_command
from ostock.views.command_status import CommandStatus
from ostock.views.functions import (
    COMMAND_DECIDED,
    COMMAND_PENDING,
    PROJECT,
    REPLAY,
    fcalls,
    load_functions,
)
from ostock.views.generations import NONE, ShardGenerations, ShardState, stale_state
from ostock.views.keys import offsets_key, shard_generations_key
from ostock.views.projection import ListedView, Projected, Write
from ostock.views.shards import Shards, shards_of
from ostock.views.tracing import redis_span

#: One FCALL: the function, the number of keys, the keys, the args.
Call = tuple[Any, ...]

# Rounds of STALE answers a batch may meet before the writer gives up: a replay changes
# a shard's generations three times (begin, switch, end).
STALE_ROUNDS = 8


class ViewWriter:
    """Applies projected events through the library's functions, one round trip per batch.

    Every call declares every key it touches, all in one shard (ostock.views.shards): a
    batch goes as one call on one Redis, as one call per slot on a cluster (pipelined, one
    round trip per node). The live projector names the generations it expects each shard
    to have (ShardGenerations); a shard whose record disagrees answers STALE with its own
    and writes nothing, and its events go again (read-models/README.md, "Generations").
    Given a tracer, each round trip is a span of the batch it writes.
    """

    def __init__(self, redis: RedisClient, base: str, tracer: Tracer | None = None) -> None:
        self.redis = redis
        self.base = base
        self.tracer = tracer
        self.publish = publish_command(redis)
        self.shards = shards_of(redis)
        self.generations = ShardGenerations()

    async def project(self, model: str, events: Sequence[Projected]) -> int:
        """Apply the events to `model`'s live generation (and to one a replay builds),
        each write only if newer than what is stored; return how many applied."""
        groups = by_shard(events, self.shards)
        pending = list(groups)
        applied = 0
        for _ in range(STALE_ROUNDS):
            if not pending:
                return applied
            calls = [self._project_call(model, shard, groups[shard]) for shard in pending]
            answers = [one for answer in await self._fcalls(calls) for one in _each(answer)]
            stale = []
            # One answer per call, in the order of the calls: pending's.
            for shard, answer in zip(pending, answers, strict=True):
                state = stale_state(answer)
                if state is None:
                    applied += int(answer)
                else:
                    self.generations.learn(model, shard, state)
                    stale.append(shard)
            pending = stale
        raise RuntimeError(f"{model}: generations changed {STALE_ROUNDS} times in one batch")

    def _project_call(self, model: str, shard: str, events: Sequence[Projected]) -> Call:
        state = self.generations.expected(model, shard)
        batch = project_batch([(shard, state, events)])
        return project_call(
            self.base, model, [(shard, state, _within([events]))], batch, self.publish
        )

    def replay_calls(
        self, generation: str, batches: Iterable[tuple[str, Sequence[Projected]]]
    ) -> list[Call]:
        """The calls that apply each (model, events) of `batches` to `generation` of the
        model: one per model and shard (one per model on one Redis)."""
        calls: list[Call] = []
        for model, events in batches:
            for shard, group in by_shard(events, self.shards).items():
                keys = [offsets_key(self.base, generation, model, shard)]
                keys += _under(self.base, [generation], _within([group]))
                batch = _packed([(shard, _events(group))])
                calls.append((REPLAY, len(keys), *keys, self.base, model, generation, batch))
        return calls

    async def replay(
        self, generation: str, batches: Iterable[tuple[str, Sequence[Projected]]]
    ) -> int:
        """Apply each (model, events) of `batches` to `generation` of the model, skipping
        events already there; return how many writes applied."""
        return await self.replayed(self.replay_calls(generation, batches))

    async def replayed(self, calls: Sequence[Call]) -> int:
        """Make `calls` (replay_calls) in one round trip; how many writes they applied.
        Redis applies them back to back."""
        answers = await self._fcalls(calls) if calls else []
        return sum(int(one) for answer in answers for one in _each(answer))

    async def command_statuses(self, statuses: Iterable[CommandStatus]) -> None:
        """Mark commands pending (unless decided) or decided (always)."""
        calls = [
            (COMMAND_PENDING, 1, s.key, s.body, s.expire_at)
            if s.state == "pending"
            else (COMMAND_DECIDED, 1, s.key, s.state, s.body, s.expire_at, self.publish)
            for s in statuses
        ]
        if calls:
            for answer in await self._fcalls(calls):
                _each(answer)

    async def _fcalls(self, calls: Sequence[Call]) -> list[Any]:
        """Each call's answer, an error reply as its ResponseError."""
        answers = await self._pipeline(calls)
        if any(_missing(answer) for answer in answers):
            # A Redis that lost its data (or a fresh one) lost the library too.
            await load_functions(self.redis)
            answers = await self._pipeline(calls)
        return answers

    async def _pipeline(self, calls: Sequence[Call]) -> list[Any]:
        if self.tracer is None:
            return await self._round_trip(calls)
        with redis_span(self.tracer, "FCALL", len(calls)):
            return await self._round_trip(calls)

    async def _round_trip(self, calls: Sequence[Call]) -> list[Any]:
        """One round trip (per node), timed as its first call's function: a batch's calls
        share one."""
        started = perf_counter()
        try:
            return await fcalls(self.redis, calls, raise_on_error=False)
        finally:
            child(REDIS_DURATION, "redis", calls[0][0]).observe(perf_counter() - started)


def project_call(
    base: str,
    model: str,
    shards: Sequence[tuple[str, ShardState, Sequence[str]]],
    batch: bytes,
    publish: str,
) -> Call:
    """The ostock_project call of `batch` (project_batch), whose shards each write keys
    (within a generation) in the generations expected there: (shard's tag, generations,
    keys)."""
    keys: list[str] = []
    for shard, (live, building, retiring), within in shards:
        keys += [shard_generations_key(base, shard), offsets_key(base, live, model, shard)]
        if building is not None:
            keys.append(offsets_key(base, building, model, shard))
        keys += _under(base, [g for g in (live, building, retiring) if g is not None], within)
    return (PROJECT, len(keys), *keys, base, model, publish, batch)


def project_batch(shards: Sequence[tuple[str, ShardState, Sequence[Projected]]]) -> bytes:
    """The events of each shard (by its tag, with the generations expected there) as
    ostock_project takes them."""
    return _packed(
        [
            (shard, live, building or NONE, retiring or NONE, _events(events))
            for shard, (live, building, retiring), events in shards
        ]
    )


def _within(groups: Iterable[Sequence[Projected]]) -> list[str]:
    """Every key (within a generation) the events of `groups` write, once."""
    return list(
        dict.fromkeys(
            k for events in groups for _, _, writes in events for w in writes for k in keys_of(w)
        )
    )


def _under(base: str, generations: Sequence[str], within: Sequence[str]) -> list[str]:
    """Each key of `within` in each of `generations`."""
    return [f"{base}:{g}:{key}" for g in generations for key in within]


def keys_of(write: Write) -> tuple[str, ...]:
    """The keys (within a generation) `write` touches."""
    return (write.key, write.index_key) if isinstance(write, ListedView) else (write.key,)


def by_shard(events: Iterable[Projected], shards: Shards) -> dict[str, list[Projected]]:
    """The events that write anything, by the tag of their keys' shard (an
    organization's)."""
    groups: defaultdict[str, list[Projected]] = defaultdict(list)
    for event in events:
        if event.writes:
            groups[shards.of(event.writes[0].key)].append(event)
    return dict(groups)


def _missing(answer: object) -> bool:
    return isinstance(answer, ResponseError) and "Function not found" in str(answer)


def _each(answer: object) -> list[Any]:
    """A call's answers (a list, one per shard, or one); its error raised."""
    if isinstance(answer, Exception):
        raise answer
    return answer if isinstance(answer, list) else [answer]


def _events(events: Sequence[Projected]) -> list[tuple[Any, ...]]:
    """The events as ostock.lua takes them: each its source, offset and writes, each write
    its name, keys and args."""
    return [
        (source, offset, [write.part() for write in writes]) for source, offset, writes in events
    ]


def _packed(slots: Sequence[tuple[Any, ...]]) -> bytes:
    """A batch as one MessagePack argument, not thousands: redis-py packs every argument
    in Python."""
    # Redis's cmsgpack predates the bin types: bytes go as raw strings.
    packed: bytes = msgpack.packb(slots, use_bin_type=False)
    return packed
