"""streams.app's BatchConsumer over a fake aiokafka consumer thread: each fetch handed to
its routes' handlers whole, acked only once every handler is done with it, and committed
past the offsets a read_committed fetch skips.

Everything above the consumer thread is the module's and Faust's real code: the app of
`create_app`, its conductor's acking topics, the consumer's getmany, ack and commit.
"""

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest
from aiokafka.structs import ConsumerRecord
from faust.transport.conductor import Conductor
from faust.transport.drivers import aiokafka as driver
from faust.types import TP, Message
from mode import ServiceT

from ostock.settings import Settings
from streams.app import BatchConsumer, BatchHandler, create_app

EVENTS = "ostock.organization.events"
RESULTS = "ostock.command-results"
E0, E1, R0 = TP(EVENTS, 0), TP(EVENTS, 1), TP(RESULTS, 0)

Fetch = dict[TP, list[int]]  # the offsets one fetch returns, by partition


class Fetcher:
    """Faust's fetcher service, as far as the drain loop asks it: whether to stop."""

    should_stop = False


class FakeKafka:
    """The aiokafka consumer thread Faust's consumer delegates to: it returns the fetches
    a test queued, one per getmany, then stops the fetcher; it keeps what is committed."""

    def __init__(self, fetcher: Fetcher, committed: dict[TP, int]) -> None:
        self.fetcher = fetcher
        self.assigned = {E0, E1, R0}
        self.committed = dict(committed)
        self.fetches: list[Fetch] = []

    def assignment(self) -> set[TP]:
        return set(self.assigned)

    def highwater(self, tp: TP) -> int:
        return 1_000

    async def getmany(
        self, active_partitions: set[TP] | None, timeout: float
    ) -> dict[TP, list[ConsumerRecord[bytes, bytes]]]:
        await asyncio.sleep(0)  # as a real fetch yields to the loop
        if not self.fetches:
            self.fetcher.should_stop = True  # the worker stops once the script is played
            return {}
        return {tp: [record(tp, o) for o in offsets] for tp, offsets in self.fetches.pop(0).items()}

    async def commit(self, offsets: dict[TP, int]) -> bool:
        self.committed.update(offsets)
        return True

    async def seek_to_committed(self) -> dict[TP, int]:
        return dict(self.committed)


def record(tp: TP, offset: int) -> ConsumerRecord[bytes, bytes]:
    value = f"{tp.topic}[{tp.partition}]@{offset}".encode()
    return ConsumerRecord(
        tp.topic, tp.partition, offset, 1_700_000_000_000, 0, b"key", value, None, 3, len(value), []
    )


class Handler:
    """A route's batch handler: it keeps the offsets of each batch it is handed and
    whether any of them was acked already; its nth batch can wait for `release`, or fail."""

    def __init__(self) -> None:
        self.batches: list[list[tuple[TP, int]]] = []
        self.acked_early = False
        self.opened = self.closed = 0
        self.held: int | None = None
        self.release = asyncio.Event()
        self.failed: int | None = None

    async def __call__(self, messages: Sequence[Message]) -> None:
        self.batches.append([(m.tp, m.offset) for m in messages])
        self.acked_early |= any(m.acked for m in messages)
        if self.held == len(self.batches):
            await self.release.wait()
        if self.failed == len(self.batches):
            raise RuntimeError("Redis refused the batch")

    @asynccontextmanager
    async def open(self) -> AsyncIterator[BatchHandler]:
        self.opened += 1
        try:
            yield self
        finally:
            self.closed += 1

    def offsets(self, tp: TP) -> list[list[int]]:
        """The offsets of `tp` in each batch handed over."""
        return [[offset for t, offset in batch if t == tp] for batch in self.batches]


@dataclass
class Worker:
    """A BatchApp's real consumer on a FakeKafka."""

    consumer: BatchConsumer
    kafka: FakeKafka

    async def drain(self) -> None:
        """The fetcher's loop, until the queued fetches are played."""
        await self.consumer._drain_messages(cast(ServiceT, self.kafka.fetcher))

    async def commit(self) -> dict[TP, int]:
        """Faust's periodic commit of acked offsets; what Kafka then holds."""
        await self.consumer.commit()
        return self.kafka.committed


async def worker(
    data_dir: Path,
    routes: dict[str, Handler],
    fetches: list[Fetch],
    committed: dict[TP, int] | None = None,
) -> Worker:
    app = create_app(Settings(data_dir=data_dir), "batch-test")
    for topic, handler in routes.items():
        app.route([topic], handler.open)
    # What the conductor does when it subscribes: acks count for the routed topics.
    await cast(Conductor, app.topics)._update_indices()
    consumer = cast(BatchConsumer, app.consumer)
    kafka = FakeKafka(Fetcher(), committed or {})
    kafka.fetches = list(fetches)
    consumer._thread.thread_loop.close()  # the real thread's own loop, never started
    consumer._thread = cast(driver.AIOKafkaConsumerThread, kafka)
    # What Faust does on assignment: fetch from every partition assigned (its
    # on_partitions_assigned), read on from the committed offsets (its recovery).
    consumer._set_active_tps(kafka.assignment())
    await consumer.perform_seek()
    return Worker(consumer, kafka)


async def until_handed(handler: Handler, batches: int) -> None:
    async with asyncio.timeout(2):
        while len(handler.batches) < batches:
            await asyncio.sleep(0)


async def test_each_fetch_reaches_each_route_in_one_call_in_partition_order(
    tmp_path: Path,
) -> None:
    events, results = Handler(), Handler()
    fetches = [{E0: [0, 1, 2], E1: [0, 1], R0: [0]}, {E0: [3, 4]}]
    running = await worker(tmp_path, {EVENTS: events, RESULTS: results}, fetches)

    await running.drain()

    assert events.offsets(E0) == [[0, 1, 2], [3, 4]]
    assert events.offsets(E1) == [[0, 1], []]
    assert results.batches == [[(R0, 0)]]  # a route with nothing in a fetch is not called
    assert (events.opened, events.closed, results.opened, results.closed) == (1, 1, 1, 1)
    assert await running.commit() == {E0: 5, E1: 2, R0: 1}


async def test_the_handlers_of_one_fetch_run_concurrently(tmp_path: Path) -> None:
    events, results = Handler(), Handler()
    # Both wait until both have started: handled one after the other, neither would end.
    events.held = results.held = 1
    events.release = results.release = both = asyncio.Event()
    running = await worker(tmp_path, {EVENTS: events, RESULTS: results}, [{E0: [0], R0: [0]}])

    draining = asyncio.create_task(running.drain())
    await until_handed(events, 1)
    await until_handed(results, 1)
    both.set()
    await asyncio.wait_for(draining, 2)


async def test_records_are_acked_only_once_their_handler_returned(tmp_path: Path) -> None:
    events = Handler()
    events.held = 1
    running = await worker(tmp_path, {EVENTS: events}, [{E0: [0, 1], E1: [0]}])

    draining = asyncio.create_task(running.drain())
    await until_handed(events, 1)
    # Faust's commit timer fires while the batch is in hand: nothing of it is acked yet.
    assert await running.commit() == {}
    events.release.set()
    await draining

    assert not events.acked_early
    assert await running.commit() == {E0: 2, E1: 1}


async def test_a_handler_that_raises_stops_the_worker_and_its_fetch_stays_unacked(
    tmp_path: Path,
) -> None:
    events, results = Handler(), Handler()
    events.failed = 2
    fetches = [{E0: [0, 1], R0: [0]}, {E0: [2], R0: [1, 2]}, {E0: [3]}]
    running = await worker(tmp_path, {EVENTS: events, RESULTS: results}, fetches)

    with pytest.raises(ExceptionGroup) as raised:
        await running.drain()

    assert [str(e) for e in raised.value.exceptions] == ["Redis refused the batch"]
    assert events.offsets(E0) == [[0, 1], [2]]  # nothing fetched after the failure
    assert results.offsets(R0) == [[0], [1, 2]]  # the other handler took its share, but
    # a fetch is acked once every handler is done with it: all of it is consumed again.
    assert await running.commit() == {E0: 2, R0: 1}
    assert events.closed == results.closed == 1


async def test_a_worker_stopped_mid_batch_leaves_that_batch_unacked(tmp_path: Path) -> None:
    events = Handler()
    events.held = 2  # never released: the second batch is in hand when the worker stops
    running = await worker(tmp_path, {EVENTS: events}, [{E0: [0]}, {E0: [1, 2]}])

    draining = asyncio.create_task(running.drain())
    await until_handed(events, 2)
    draining.cancel()
    with pytest.raises(asyncio.CancelledError):
        await draining

    assert await running.commit() == {E0: 1}
    assert events.closed == 1


async def test_offsets_a_read_committed_fetch_skips_are_committed_past(tmp_path: Path) -> None:
    events = Handler()
    # From committed offset 10: 10-12 an aborted transaction and its marker, 15-17 and
    # 19-20 likewise, one gap at the start of a fetch, one inside it, one between two.
    fetches = [{E0: [13, 14, 18]}, {E0: [21]}]
    running = await worker(tmp_path, {EVENTS: events}, fetches, committed={E0: 10})

    await running.drain()

    assert events.offsets(E0) == [[13, 14, 18], [21]]
    assert await commits_settle(running) == {E0: 22}


async def test_one_commit_steps_over_every_gap_acked(tmp_path: Path) -> None:
    events = Handler()
    fetches = [{E0: [13, 14, 18]}, {E0: [21]}]
    running = await worker(tmp_path, {EVENTS: events}, fetches, committed={E0: 10})

    await running.drain()

    assert await running.commit() == {E0: 22}


async def test_a_gap_after_a_partitions_first_record_is_committed_past(tmp_path: Path) -> None:
    events = Handler()
    # A new group on a new topic: record 0, its transaction's marker at 1, then an
    # aborted record and its marker at 2-3.
    running = await worker(tmp_path, {EVENTS: events}, [{E0: [0]}, {E0: [4, 5]}])

    await running.drain()

    assert await commits_settle(running) == {E0: 6}


async def commits_settle(running: Worker) -> dict[TP, int]:
    """What Kafka holds once Faust's commits stop moving it."""
    committed: dict[TP, int] = {}
    for _ in range(10):
        before, committed = committed, dict(await running.commit())
        if committed == before:
            break
    return committed


async def test_records_read_before_are_not_handed_over_again(tmp_path: Path) -> None:
    events = Handler()
    fetches = [{E0: [5, 6, 7]}, {E0: [5, 6, 8]}]
    running = await worker(tmp_path, {EVENTS: events}, fetches, committed={E0: 5})

    await running.drain()

    assert events.offsets(E0) == [[5, 6, 7], [8]]
    assert await running.commit() == {E0: 9}


async def test_acks_of_a_partition_given_away_mid_batch_are_not_committed(
    tmp_path: Path,
) -> None:
    events = Handler()
    events.held = 1
    running = await worker(tmp_path, {EVENTS: events}, [{E0: [0, 1], E1: [0, 1]}])

    draining = asyncio.create_task(running.drain())
    await until_handed(events, 1)
    running.kafka.assigned.discard(E1)  # a rebalance while the batch is in hand
    events.release.set()
    await draining

    assert await running.commit() == {E0: 2}


async def test_the_consumer_reads_committed_records_only(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path), "batch-test")
    thread = cast(BatchConsumer, app.consumer)._thread

    # The aiokafka consumer it builds; it connects only once started.
    aiokafka_consumer = thread._create_worker_consumer(cast(driver.Transport, app.transport))

    assert aiokafka_consumer._isolation_level == "read_committed"
    await aiokafka_consumer.stop()
    thread.thread_loop.close()
