"""A projector: each batch of records from Kafka decoded and applied to Redis in one round
trip, poison records dead-lettered. At least once, made harmless by idempotent writes.
Each record applied is timed from its Kafka timestamp, when its producer wrote it, to
the end of its batch's round trip: the view's freshness."""

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from functools import partial

from faust.types import Message
from prometheus_client import Histogram
from redis.exceptions import ResponseError

from ostock.contract.records import Event, Kinds, R
from ostock.kafka.deadletters import Unprocessable
from ostock.kafka.schema_registry import registry_codec
from ostock.retry import refused, until_done
from ostock.settings import Settings
from ostock.telemetry.labels import observe_all
from ostock.telemetry.metrics import FRESHNESS
from ostock.views.client import redis_client
from ostock.views.functions import load_functions
from ostock.views.models import Positioned, ReadModel
from ostock.views.writer import ViewWriter
from streams.app import BatchApp, BatchHandler
from streams.batches import decode_all, log_each
from streams.deadletters import DeadLetters, Poison
from streams.tracing import traced_batch

log = logging.getLogger(__name__)


def add_projector(
    app: BatchApp,
    settings: Settings,
    name: str,
    topics: Collection[str],
    expected: Kinds[R],
    apply: Callable[[ViewWriter, Sequence[Positioned[R]]], Awaitable[object]],
) -> None:
    """Add projector `name` applying the records of `topics` (named `expected`) with `apply`."""
    codec = registry_codec(settings)  # finds schemas published after it was built
    dead_letters = DeadLetters(app, settings.topics.dead_letters)
    freshness = FRESHNESS.labels(name)

    async def handle(writer: ViewWriter, messages: Sequence[Message]) -> None:
        with traced_batch(app.otel_tracer, app.conf.id, messages):
            await project(writer, messages)

    async def project(writer: ViewWriter, messages: Sequence[Message]) -> None:
        records, poison = decode_all(codec, messages, expected)
        try:
            await until_done(
                lambda: apply(writer, records), f"{name}: applying {len(records)}", refused
            )
        except ResponseError:
            poison += await one_by_one(writer, records, messages)
        log_each(log, messages, f"{name}: applied", poison)
        _applied(freshness, messages, poison)
        if poison:
            await until_done(lambda: dead_letters.send(poison), f"{name}: dead-lettering")

    async def one_by_one(
        writer: ViewWriter, records: Sequence[Positioned[R]], batch: Sequence[Message]
    ) -> list[Poison]:
        """Apply a batch that Redis refused record by record: the ones it refuses alone
        are poison, the others applied."""
        messages = {(m.topic, m.partition, m.offset): m for m in batch}
        poison: list[Poison] = []
        for record in records:
            try:
                alone = partial(apply, writer, [record])
                await until_done(alone, f"{name}: applying one", refused)
            except ResponseError as error:
                message = messages[(record.topic, record.partition, record.offset)]
                poison.append((message, Unprocessable("apply-error", str(error))))
        return poison

    @asynccontextmanager
    async def opened() -> AsyncIterator[BatchHandler]:
        # The client lives in the worker's event loop, as long as the consumer fetches.
        redis = redis_client(settings)
        try:
            await until_done(lambda: load_functions(redis), f"{name}: loading Redis functions")
            yield partial(handle, ViewWriter(redis, settings.redis_prefix, app.otel_tracer))
        finally:
            await redis.aclose()

    app.route(topics, opened)


def _applied(freshness: Histogram, messages: Sequence[Message], poison: Sequence[Poison]) -> None:
    """Observe the age of each record of `messages` but the poison, applied now."""
    now = time.time()
    poisoned = {id(message) for message, _ in poison}
    ages = (now - m.timestamp for m in messages if id(m) not in poisoned)
    observe_all(freshness, ages)


def add_model_projector(app: BatchApp, settings: Settings, model: ReadModel) -> None:
    """Add the projector building `model` live (ostock.views.models)."""

    async def apply(writer: ViewWriter, records: Sequence[Positioned[Event]]) -> None:
        await writer.project(model.name, model.project(records))

    topics = [model.topic(settings.topics)]
    add_projector(app, settings, model.name, topics, model.events, apply)
