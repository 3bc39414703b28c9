"""A replay: read models rebuilt from offset 0 of their event topics into a generation of
their own while the system stays live (read-models/README.md, "Generations").

1. The models are marked as building the new generation (one at a time per model).
2. The log is read from the start and projected into it, through the same projections
   as the live projectors, in batches of one Redis round trip.
3. Each partition that the replay has read to its end is handed over, shard by shard
   (ostock.views.shards) where the replay is not behind the live projector: from then on
   the live projector writes its events in that shard to the new generation too, in log
   order, each once.
4. Once every partition is handed over in every shard, the switch makes the new
   generation live for every model, every shard's record first, the readers' last; the
   old one is still written for a grace period (readers re-read which generation is
   live every generations_refresh_s), then dropped.
"""

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import cast

from confluent_kafka import Message

from ostock.contract import UndecodableRecord
from ostock.contract.records import Event, Kinds
from ostock.kafka.schema_registry import registry_codec
from ostock.replay.log import Batch, LogReader, sources_of
from ostock.replay.merging import BatchMerge
from ostock.replay.metrics import ReplayMetrics
from ostock.retry import refused, until_done
from ostock.settings import Settings
from ostock.views.client import RedisClient
from ostock.views.generations import (
    begin,
    drop,
    end,
    handover_call,
    live_generations,
    new_generation,
    pipelined,
    switch,
)
from ostock.views.keys import FIRST_GENERATION, generations_key
from ostock.views.models import ReadModel
from ostock.views.shards import shards_of
from ostock.views.writer import Call, ViewWriter

#: Told how many log offsets were read so far and how many there are (both grow).
Progress = Callable[[int, int], None]

# Tries of one batch's Redis call before the replay gives up.
REDIS_ATTEMPTS = 6

# How long one poll waits for records before the replay looks at what it has.
POLL_S = 0.2

# A replay allocates a few containers per record (the decoded record, its history entry),
# each alive for about one batch and in no cycle. Collected every 700 allocations (the
# default), each was traversed several times: a sixth of the replay's CPU at 100,000
# events. Cycles are still collected, every GC_ALLOCATIONS.
GC_ALLOCATIONS = 50_000


@dataclass
class ReplayStats:
    """What a replay read and applied."""

    generation: str
    events: int = 0
    undecodable: int = 0
    applied: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


@contextmanager
def fewer_collections() -> Iterator[None]:
    """The garbage collector run every GC_ALLOCATIONS allocations instead of 700."""
    threshold = gc.get_threshold()
    gc.set_threshold(GC_ALLOCATIONS, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


class Replay:
    """Projects the log into `generation` of `models`."""

    def __init__(
        self,
        settings: Settings,
        redis: RedisClient,
        models: Sequence[ReadModel],
        generation: str,
        progress: Progress,
        until: datetime | None = None,
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.base = settings.redis_prefix
        self.models = models
        self.generation = generation
        self.progress = progress
        self.until = until
        self.writer = ViewWriter(redis, self.base)
        self.codec = registry_codec(settings)  # finds schemas published after it was built
        self.stats = ReplayStats(generation)
        self.metrics = ReplayMetrics([model.name for model in models])
        self._topics = [(model, model.topic(settings.topics)) for model in models]
        self._expected = Kinds(tuple({kind for model in models for kind in model.events.types}))
        self.reader = LogReader(settings, {topic for _, topic in self._topics})
        # One poll at a time, in a thread of its own: the next batch is read while this
        # one is decoded and applied.
        self._polls = ThreadPoolExecutor(max_workers=1, thread_name_prefix="replay-poll")
        self._next: Future[Batch] | None = None
        self._read = 0
        self._started: float | None = None
        self._in_flight: asyncio.Future[None] | None = None
        self._live: dict[str, str] = {}  # each model's live generation, as the replay began

    async def to_end(self) -> None:
        """Read every partition once to the end it had when the replay began (a snapshot)."""
        at_end: set[str] = set()
        with fewer_collections():
            while at_end < self.reader.sources:
                at_end |= await self._step()
            await self._applied()
        self.progress(self._read, self._read)

    async def live_handover(self) -> None:
        """Read on until every partition of every model is handed over to the live
        projector (step 3 above)."""
        state = cast(dict[bytes, bytes], await self.redis.hgetall(generations_key(self.base)))
        self._live = live_generations(state)
        # The shards each (model, partition) is still to be handed over in.
        pending = {
            (model.name, part): set(shards_of(self.redis).tags)
            for model in self.models
            for part in sources_of(self.reader, [model.topic(self.settings.topics)])
        }
        at_end: set[str] = set()
        with fewer_collections():
            while pending:
                at_end |= await self._step()
                ready = {key: shards for key, shards in pending.items() if key[1] in at_end}
                if ready:
                    await self._applied()  # a handover compares what Redis holds
                    await self._hand_over(ready)
                pending = {key: shards for key, shards in pending.items() if shards}
        self.progress(self._read, self._read)

    async def _hand_over(self, ready: dict[tuple[str, str], set[str]]) -> None:
        """Hand over each (model, partition) of `ready` in the shards it awaits, one call
        per model and shard; the shards handed over leave its set."""
        asked: list[tuple[str, str, list[str]]] = []
        for model in sorted({model for model, _ in ready}):
            shards = set().union(*(s for (m, _), s in ready.items() if m == model))
            for shard in sorted(shards):
                parts = [part for (m, part), s in ready.items() if m == model and shard in s]
                asked.append((model, shard, parts))
        answers = await pipelined(self.redis, (self._handover_call(*ask) for ask in asked))
        for (model, shard, parts), accepted in zip(asked, answers, strict=True):
            for part, yes in zip(parts, accepted, strict=True):
                if yes:
                    ready[model, part].discard(shard)

    def _handover_call(self, model: str, shard: str, parts: list[str]) -> Call:
        live = self._live.get(model, FIRST_GENERATION)
        return handover_call(self.base, model, self.generation, live, shard, parts)

    async def _step(self) -> set[str]:
        """One poll decoded and merged, its writes sent (every model's in one round trip)
        once the previous batch's are applied; returns the partitions found at their end.
        Redis applies a batch while the next one is decoded and merged (two cores, two at
        work), and the one after is read meanwhile."""
        if self._started is None:
            self._started = time.monotonic()
        batch = await asyncio.wrap_future(self._next or self._poll())
        self._next = self._poll()
        merge = BatchMerge(self._topics)
        for record, topic, partition, offset in self._decoded(batch.records):
            merge.add(record, topic, partition, offset)
        # Packed before waiting for the batch before: Redis gets this one the moment it
        # is free.
        projected = merge.projected()
        calls = self.writer.replay_calls(self.generation, projected)
        merged = sum(len(events) for _, events in projected)
        taken = [(each.model.name, each.taken) for each in merge.merges]
        await self._applied()
        self._in_flight = asyncio.ensure_future(self._apply(calls, merged, taken))
        self.stats.events += len(batch.records)
        self._read += len(batch.records)
        return batch.at_end

    async def _apply(self, calls: list[Call], merged: int, taken: list[tuple[str, int]]) -> None:
        # A batch applied twice changes nothing (offsets), so a Redis reply that timed
        # out under load is retried: a few times, then the replay fails and gives up.
        apply = partial(self.writer.replayed, calls)
        what = f"replay: applying {merged} merged events"
        self.stats.applied += await until_done(apply, what, refused, REDIS_ATTEMPTS)
        self.metrics.applied(taken)

    async def _applied(self) -> None:
        """Wait until every batch sent is applied."""
        if self._in_flight is not None:
            in_flight, self._in_flight = self._in_flight, None
            await in_flight
        if self._started is not None:
            self.stats.seconds = time.monotonic() - self._started
        self.progress(self._read, max(self._read, self.reader.total))

    def _decoded(self, messages: Sequence[Message]) -> Iterator[tuple[Event, str, int, int]]:
        """Each record a model takes, up to `until` if set, with its topic, partition and
        offset; poison is skipped (the live projectors dead-lettered it)."""
        for message in messages:
            try:
                record = self.codec.read(message.value(), self._expected)
            except UndecodableRecord:
                self.stats.undecodable += 1
                continue
            if self.until is not None and record.meta.occurred_at > self.until:
                continue
            # A record read always has its topic, partition and offset.
            topic, partition = cast(str, message.topic()), cast(int, message.partition())
            yield record, topic, partition, cast(int, message.offset())

    def _poll(self) -> "Future[Batch]":
        return self._polls.submit(self.reader.poll, self.settings.replay_batch_size, POLL_S)

    def close(self) -> None:
        self._polls.shutdown()  # waits for a poll under way: the consumer is not shared
        self.reader.close()
        self.metrics.ended()


@asynccontextmanager
async def building(
    settings: Settings, redis: RedisClient, models: Sequence[ReadModel], progress: Progress
) -> AsyncIterator[Replay]:
    """A replay of `models` into a new generation, marked as building it (step 1); given up
    (ended and dropped) if the block fails or is interrupted."""
    base, names = settings.redis_prefix, [model.name for model in models]
    generation = new_generation()
    # Retried until done (beginning the same generation again changes nothing), unless
    # refused: a model builds another.
    await until_done(partial(begin, redis, base, generation, names), "replay: beginning", refused)
    replay = Replay(settings, redis, models, generation, progress)
    try:
        yield replay
    except BaseException:
        await end(redis, base, names)
        await drop(redis, base, generation, names)
        raise
    finally:
        replay.close()


async def rebuild(
    settings: Settings, redis: RedisClient, models: Sequence[ReadModel], progress: Progress
) -> ReplayStats:
    """Rebuild `models` into a new generation and switch readers to it (steps 1-4)."""
    base, names = settings.redis_prefix, [model.name for model in models]
    async with building(settings, redis, models, progress) as replay:
        await replay.live_handover()
        # Shard by shard: a switch cut short would leave some shards live in the generation
        # a failed replay drops, so it is retried until done (a shard switched stays so).
        switching = partial(switch, redis, base, replay.generation, names)
        retired = await until_done(switching, "replay: switching", refused)
    await asyncio.sleep(settings.replay_grace_s)
    await until_done(partial(end, redis, base, names), "replay: ending", refused)
    for name, old in zip(names, retired, strict=True):
        await drop(redis, base, old, [name])
    return replay.stats
