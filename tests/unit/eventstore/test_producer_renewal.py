"""The event log's transactional producer: a fatal failure replaces it before the next
transaction; replacements fenced before their first commit twice in a row mean a rival
writer, once is a broker lost."""

from typing import cast

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer

from ostock.eventstore.transactions import EventLogError, Outgoing, Transactions, WriterFenced

FENCED = KafkaException(KafkaError(KafkaError._FENCED, "fenced by a newer instance", fatal=True))
TIMED_OUT = KafkaException(KafkaError(KafkaError._TIMED_OUT, "commit timed out", retriable=True))
CONFLICT = KafkaException(KafkaError(KafkaError._CONFLICT, "commit_transaction in progress"))
RECORD = Outgoing("events", b"key", b"value", [])


class FakeProducer:
    """A transactional producer whose commits fail with `failures`, one each, in order."""

    def __init__(self, failures: list[KafkaException]) -> None:
        self.failures = failures
        self.produced: list[bytes | None] = []
        self.aborted = 0

    def begin_transaction(self) -> None:
        pass

    def produce(
        self,
        topic: str,
        key: bytes,
        value: bytes,
        headers: object,
        partition: int,
        on_delivery: object = None,
    ) -> None:
        self.produced.append(value)

    def commit_transaction(self, timeout: float) -> None:
        if self.failures:
            raise self.failures.pop(0)

    def abort_transaction(self, timeout: float) -> None:
        self.aborted += 1

    def purge(self, blocking: bool) -> None:
        pass


def transactions(*starts: FakeProducer | KafkaException) -> tuple[Transactions, list[FakeProducer]]:
    """Transactions whose producer starts are `starts`, in order (an exception: that start
    fails), and the producers started."""
    waiting, started = list(starts), []

    def new_producer() -> Producer:
        start = waiting.pop(0)
        if isinstance(start, KafkaException):
            raise start
        started.append(start)
        return cast(Producer, start)

    return Transactions(new_producer, 1.0), started


def test_a_retriable_failure_aborts_and_keeps_the_producer() -> None:
    log, started = transactions(FakeProducer([TIMED_OUT]))

    with pytest.raises(KafkaException):
        log.publish([RECORD])
    log.publish([RECORD])

    assert len(started) == 1
    assert started[0].aborted == 1


def test_a_fatal_failure_replaces_the_producer_before_the_next_transaction() -> None:
    first, second = FakeProducer([]), FakeProducer([])
    log, started = transactions(first, second)
    log.publish([RECORD])  # it has committed: the fence that follows is no rival's
    first.failures.append(FENCED)

    with pytest.raises(EventLogError):
        log.publish([RECORD])
    assert started == [first]
    log.publish([RECORD])

    assert started == [first, second]
    assert second.produced == [b"value"]


def test_a_replacement_fenced_once_before_its_first_commit_is_replaced_again() -> None:
    first, second, third = FakeProducer([]), FakeProducer([FENCED]), FakeProducer([])
    log, started = transactions(first, second, third)
    log.publish([RECORD])
    first.failures.append(FENCED)
    with pytest.raises(EventLogError):
        log.publish([RECORD])
    with pytest.raises(EventLogError):
        log.publish([RECORD])  # fenced at once, as when its coordinator's broker is lost

    log.publish([RECORD])

    assert started == [first, second, third]
    assert third.produced == [b"value"]


def test_replacements_fenced_before_their_first_commit_twice_stop_the_writer() -> None:
    first, second, third = FakeProducer([]), FakeProducer([FENCED]), FakeProducer([FENCED])
    log, started = transactions(first, second, third, FakeProducer([]))
    log.publish([RECORD])
    first.failures.append(FENCED)
    for _ in range(3):  # the first is fenced, then each replacement at once: a rival runs
        with pytest.raises(EventLogError):
            log.publish([RECORD])

    with pytest.raises(WriterFenced):
        log.publish([RECORD])
    assert len(started) == 3


def test_a_producer_that_cannot_start_yet_is_started_again_next_time() -> None:
    first, second = FakeProducer([]), FakeProducer([])
    log, started = transactions(first, TIMED_OUT, second)  # the broker is back after one try
    log.publish([RECORD])
    first.failures.append(FENCED)
    with pytest.raises(EventLogError):
        log.publish([RECORD])

    with pytest.raises(KafkaException):
        log.publish([RECORD])
    log.publish([RECORD])

    assert started == [first, second]
    assert second.produced == [b"value"]


def test_a_commit_that_timed_out_and_cannot_be_aborted_replaces_the_producer() -> None:
    class Committing(FakeProducer):
        def abort_transaction(self, timeout: float) -> None:
            raise CONFLICT

    first, second = Committing([TIMED_OUT]), FakeProducer([])
    log, started = transactions(first, second)

    with pytest.raises(EventLogError):
        log.publish([RECORD])
    log.publish([RECORD])

    assert started == [first, second]
