"""Writing the read models: the projectors' and the replay's ViewWriter."""

from collections.abc import Iterable, Sequence
from time import perf_counter
from typing import Any

import msgpack
from opentelemetry.trace import Tracer
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from ostock.telemetry.labels import child
from ostock.telemetry.metrics import REDIS_DURATION
from ostock.views.command_status import CommandStatus
from ostock.views.functions import (
    COMMAND_DECIDED,
    COMMAND_PENDING,
    PROJECT,
    REPLAY,
    load_functions,
)
from ostock.views.projection import Projected
from ostock.views.tracing import redis_span


class ViewWriter:
    """Applies projected events through the library's functions, one round trip per batch.

    The functions resolve each model's generations inside Redis, atomically with a
    replay's switch (read-models/README.md), so they need one Redis, not a cluster.
    Given a tracer, each round trip is a span of the batch it writes.
    """

    def __init__(self, redis: Redis, base: str, tracer: Tracer | None = None) -> None:
        self.redis = redis
        self.base = base
        self.tracer = tracer

    async def project(self, model: str, events: Sequence[Projected]) -> int:
        """Apply the events to `model`'s live generation (and to one a replay builds),
        each write only if newer than what is stored; return how many applied."""
        if not events:
            return 0
        (applied,) = await self._fcalls([(PROJECT, 0, self.base, model, packed(events))])
        return applied

    async def replay(self, generation: str, batches: Sequence[tuple[str, bytes]]) -> int:
        """Apply each (model, batch) of `batches`, the batch `packed` events, to
        `generation` of the model, skipping events already there; return how many writes
        applied. One round trip for all: Redis applies them back to back."""
        calls = [(REPLAY, 0, self.base, model, generation, batch) for model, batch in batches]
        return sum(await self._fcalls(calls)) if calls else 0

    async def command_statuses(self, statuses: Iterable[CommandStatus]) -> None:
        """Mark commands pending (unless decided) or decided (always)."""
        calls = [
            (COMMAND_PENDING, 1, s.key, s.body, s.expire_at)
            if s.state == "pending"
            else (COMMAND_DECIDED, 1, s.key, s.state, s.body, s.expire_at)
            for s in statuses
        ]
        if calls:
            await self._fcalls(calls)

    async def _fcalls(self, calls: Sequence[tuple[Any, ...]]) -> list[int]:
        try:
            return await self._pipeline(calls)
        except ResponseError as error:
            # A Redis that lost its data (or a fresh one) lost the library too.
            if "Function not found" not in str(error):
                raise
            await load_functions(self.redis)
            return await self._pipeline(calls)

    async def _pipeline(self, calls: Sequence[tuple[Any, ...]]) -> list[int]:
        if self.tracer is None:
            return await self._round_trip(calls)
        with redis_span(self.tracer, "FCALL", len(calls)):
            return await self._round_trip(calls)

    async def _round_trip(self, calls: Sequence[tuple[Any, ...]]) -> list[int]:
        """One round trip, timed as its first call's function: a batch's calls share one."""
        started = perf_counter()
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for function, numkeys, *keys_and_args in calls:
                    pipe.fcall(function, numkeys, *keys_and_args)
                return await pipe.execute()
        finally:
            child(REDIS_DURATION, "redis", calls[0][0]).observe(perf_counter() - started)


def packed(events: Sequence[Projected]) -> bytes:
    """The events as ostock.lua takes them: one MessagePack list of events, each its
    source, offset and writes, each write its name, keys and args. One argument, not
    thousands: redis-py packs every argument in Python."""
    packed: bytes = msgpack.packb(
        [(source, offset, [write.part() for write in writes]) for source, offset, writes in events],
        # Redis's cmsgpack predates the bin types: bytes go as raw strings.
        use_bin_type=False,
    )
    return packed
