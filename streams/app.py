"""The Faust app of one stream processor: its own consumer group, reading committed records
only, and handing each fetch from Kafka to its batch handlers whole.

Faust runs the worker (lifecycle, signals, logging), the consumer group (membership,
rebalances, pausing the fetch while one goes on), the tracking of acked offsets and their
periodic commit, and the producer. What it does not do here is carry each record through
its conductor, channel, stream and event objects: that per-record machinery cost several
times what the projection itself does, even for an agent that did nothing, where the
records of a fetch handed over as one batch cost a fraction of it (docs/performance.md).
"""

import asyncio
import time
from collections.abc import Callable, Collection, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from typing import Any, cast

import faust
from faust.auth import SASLCredentials
from faust.transport.drivers import aiokafka as driver
from faust.types import Message
from mode import ServiceT
from opentelemetry.trace import Tracer

from ostock.deployables import instance_name, stream_group
from ostock.kafka.config import ACKS_ALL, SESSION_TIMEOUT_S, security_config
from ostock.settings import Settings
from ostock.telemetry.labels import count_topics
from ostock.telemetry.metrics import BATCH_DURATION, CONSUMED

#: Handles the records of one fetch that belong to it, in fetch order; a partition's
#: records in offset order. Raising stops the worker: transient failures are its to retry.
BatchHandler = Callable[[Sequence[Message]], Coroutine[Any, Any, None]]
#: Opens a handler for as long as the consumer fetches (its Redis client, say).
OpenHandler = Callable[[], AbstractAsyncContextManager[BatchHandler]]

# How long one fetch waits for records before the loop looks again (Faust's own value).
FETCH_WAIT_S = 1.0


@dataclass(frozen=True)
class Route:
    """The records of `topics` go to the handler that `open` opens."""

    topics: frozenset[str]
    open: OpenHandler


class _ReadCommittedConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Faust asks for read_committed only under its own exactly_once, which we do not
        # use (docs/architecture.md, "Exactly once"). aiokafka reads the level when the
        # consumer starts.
        consumer._isolation_level = "read_committed"
        return consumer


class BatchConsumer(driver.Consumer):
    """Faust's aiokafka consumer whose fetcher hands each fetch to the app's routes."""

    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return _ReadCommittedConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _drain_messages(self, fetcher: ServiceT) -> None:
        """The fetcher's loop (Faust's own passes each record to its conductor): each
        fetch goes to the routes, every handler taking its share as one batch, and its
        offsets are acked once every handler is done with it (the fetch counted and timed:
        docs/architecture.md, "Observability: metrics"). A batch cut short (the worker
        stops, a handler raises) stays unacked, so it is consumed again.

        A rebalance does not wait for the batch in hand: Faust pauses the fetch meanwhile,
        and the acks of partitions given away are not committed (Consumer._commit_offsets).
        """
        routes = cast(BatchApp, self.app).routes
        group = self.app.conf.id
        duration = BATCH_DURATION.labels(group)
        async with AsyncExitStack() as opened:
            handlers = [(r.topics, await opened.enter_async_context(r.open())) for r in routes]
            while not (self.should_stop or fetcher.should_stop):
                messages = [message async for _, message in self.getmany(FETCH_WAIT_S)]
                taken = time.perf_counter()
                fresh = await self._note_read(messages)
                if fresh:
                    count_topics(CONSUMED, (message.topic for message in fresh), group)
                    await _handle(handlers, fresh)
                    for message in fresh:
                        self.ack(message)
                    duration.observe(time.perf_counter() - taken)

    async def _note_read(self, messages: Sequence[Message]) -> list[Message]:
        """The records not read before, their partitions' read offsets moved on. Offsets
        skipped (transaction markers, aborted records) are noted as gaps, which the commit
        of acked offsets steps over: Faust's own drain does the same per record."""
        read = self._read_offset
        fresh: list[Message] = []
        for message in messages:
            tp, offset = message.tp, message.offset
            last = read[tp]
            # After a seek the read offset is the next to read, so a record at it is new.
            if last is not None and offset < last:
                continue  # fetched before a seek back: read again in order later
            if last is not None and offset - last > 1:
                # The gap ends before this record, which is acked itself: a gap that
                # took it in too would end Faust's run of consecutive acked offsets
                # there, and each commit would step over one gap only.
                await self._add_gap(tp, last + 1, offset - 1)
            read[tp] = offset
            fresh.append(message)
        return fresh


async def _handle(
    handlers: Sequence[tuple[frozenset[str], BatchHandler]], messages: Sequence[Message]
) -> None:
    """Each handler takes its records of `messages`; several handlers, concurrently."""
    shares = [(handle, [m for m in messages if m.topic in topics]) for topics, handle in handlers]
    shares = [(handle, share) for handle, share in shares if share]
    if len(shares) == 1:
        handle, share = shares[0]
        await handle(share)
        return
    async with asyncio.TaskGroup() as group:
        for handle, share in shares:
            group.create_task(handle(share))


class _BatchTransport(driver.Transport):
    Consumer = BatchConsumer


class BatchApp(faust.App):
    """A faust.App whose consumer reads committed records and hands fetches to `routes`;
    its handlers make spans with `otel_tracer` when there is one (streams.tracing), not
    with faust's own `tracer`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.routes: list[Route] = []
        self.otel_tracer: Tracer | None = None

    def _new_transport(self) -> Any:
        return _BatchTransport(self.conf.broker_consumer, self)

    def route(self, topics: Collection[str], open_handler: OpenHandler) -> None:
        """Subscribe to `topics` and hand their records to the handler `open_handler` opens."""
        self.topics.add(self.topic(*topics))
        self.routes.append(Route(frozenset(topics), open_handler))


def create_app(settings: Settings, processor: str, tracer: Tracer | None = None) -> BatchApp:
    """The app of stream processor `processor`; it connects to nothing yet.

    Its consumer group is ``<prefix>.<processor>`` (ostock.deployables.stream_group,
    ``ostock.organization-projector`` live): the group's committed offsets say how far
    that prefix's views are. Its client id adds the instance name.
    """
    group_id, instance = stream_group(settings, processor), instance_name(settings)
    app = BatchApp(
        group_id,
        broker=[f"kafka://{server}" for server in settings.kafka_bootstrap.split(",")],
        broker_credentials=_credentials(settings),
        # Copies of one processor share its group; each is a member under a name of its
        # own (`ostock status` shows it), and its partitions move once it is silent.
        broker_client_id=f"{group_id}.{instance}",
        broker_session_timeout=SESSION_TIMEOUT_S,
        broker_max_poll_records=settings.projector_batch_size,
        producer_acks=ACKS_ALL,
        topic_partitions=settings.topic_partitions,
        # The project creates every topic (ostock.infra.topics); faust creates none,
        # and no leader topic either: a stream processor needs no leader.
        topic_allow_declare=False,
        topic_disable_leader=True,
        # No web server: several workers share one machine without port clashes.
        web_enabled=False,
        datadir=settings.data_dir / "streams" / group_id / instance,
        key_serializer="raw",
        value_serializer="raw",
        consumer_auto_offset_reset="earliest",
    )
    app.otel_tracer = tracer
    return app


def _credentials(settings: Settings) -> SASLCredentials | None:
    """The SCRAM login of security_config, as faust's aiokafka driver takes it."""
    login = security_config(settings)
    if not login:
        return None
    return SASLCredentials(
        username=login["sasl.username"],
        password=login["sasl.password"],
        mechanism=login["sasl.mechanism"],
    )
