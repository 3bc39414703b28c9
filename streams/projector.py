"""A projector agent: batches of records from Kafka, decoded, applied to Redis in one round
trip, poison records dead-lettered. At least once, made harmless by idempotent writes."""

import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import cast

import faust
from faust.types import EventT, StreamT
from redis.asyncio import Redis

from ostock.contract import Codec, Record, UndecodableRecord
from ostock.credentials import redis_login
from ostock.settings import Settings
from ostock.views.functions import load_functions
from ostock.views.store import ViewWriter
from streams.deadletters import DeadLetters, Poison
from streams.retry import until_done

log = logging.getLogger(__name__)

Apply = Callable[[ViewWriter, Sequence[Record]], Awaitable[object]]


def add_projector(
    app: faust.App,
    settings: Settings,
    name: str,
    topics: Collection[str],
    expected: Collection[str],
    apply: Apply,
) -> None:
    """Add agent `name` applying the records of `topics` (named `expected`) with `apply`."""
    codec = Codec()
    dead_letters = DeadLetters(app, settings.topics.dead_letters)

    async def handle(writer: ViewWriter, events: Sequence[EventT[bytes]]) -> None:
        records: list[Record] = []
        poison: list[Poison] = []
        for event in events:
            try:
                records.append(codec.decode(event.message.value, expected))
            except UndecodableRecord as error:
                poison.append((event.message, error))
        await until_done(lambda: apply(writer, records), f"{name}: applying {len(records)}")
        if poison:
            await until_done(lambda: dead_letters.send(poison), f"{name}: dead-lettering")

    async def agent(stream: StreamT[bytes]) -> None:
        # The client lives in the worker's event loop, as long as the agent.
        username, password = redis_login(settings)
        redis = Redis.from_url(
            settings.redis_url,
            username=username,
            password=password,
            socket_timeout=settings.redis_timeout_s,
            socket_connect_timeout=settings.redis_timeout_s,
        )
        try:
            await until_done(lambda: load_functions(redis), f"{name}: loading Redis functions")
            writer = ViewWriter(redis)
            # take_events is on faust.Stream, what agents get, but not on StreamT.
            batches = cast(faust.Stream[bytes], stream).take_events
            async for events in batches(
                settings.projector_batch_size, within=settings.projector_batch_wait_s
            ):
                # take_events acks a batch when it is closed, applied or not, and faust
                # closes it when the worker stops (Stream.on_stop), even in the middle of
                # a retry; acked offsets get committed. A batch holds one more reference
                # on its records until it is applied, so that ack cannot complete before.
                for event in events:
                    event.message.incref()
                await handle(writer, events)
                for event in events:
                    event.message.decref()
        finally:
            await redis.aclose()

    app.agent(app.topic(*topics), name=name)(agent)
