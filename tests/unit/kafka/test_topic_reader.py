"""The topic reader's ends, against a fake consumer that plays back what a broker sends."""

import time
from typing import Any, cast

from confluent_kafka import KafkaError, Message, TopicPartition

from ostock.kafka.topic_reader import TopicReader

EOF_ = KafkaError._PARTITION_EOF


class FakeConsumer:
    """Consumes scripted batches; its position is the one a test sets."""

    def __init__(self, batches: list[list[Message]], positions: dict[int, int] | None = None):
        self.batches = batches
        self.positions = positions or {}
        self.consumes = 0

    def consume(self, num_messages: int, timeout: float) -> list[Message]:
        self.consumes += 1
        return self.batches.pop(0) if self.batches else []

    def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        return [
            TopicPartition(tp.topic, tp.partition, self.positions.get(tp.partition, -1001))
            for tp in partitions
        ]

    def assign(self, partitions: list[TopicPartition]) -> None:
        pass


def record(partition: int, offset: int) -> Message:
    return Message(topic="t", partition=partition, offset=offset, value=b"v")


def at_end(partition: int, offset: int) -> Message:
    return Message(topic="t", partition=partition, offset=offset, error=KafkaError(EOF_))


def reader_of(consumer: FakeConsumer) -> TopicReader:
    return TopicReader(cast(Any, consumer))


def test_a_batch_sorts_records_ends_and_errors() -> None:
    broken = Message(topic="t", partition=1, error=KafkaError(KafkaError._TRANSPORT))
    reader = reader_of(FakeConsumer([[record(0, 0), at_end(0, 1), broken, record(1, 4)]]))

    batch = reader.fetch(10, 0.1)

    assert [(m.partition(), m.offset()) for m in batch.records] == [(0, 0), (1, 4)]
    assert batch.at_end == {("t", 0): 1}
    assert [error.code() for error in batch.errors] == [KafkaError._TRANSPORT]


def test_a_read_to_the_end_of_partition_events_stops_at_the_last_one() -> None:
    consumer = FakeConsumer([[record(0, 0), at_end(0, 1)], [record(1, 0)], [at_end(1, 1)], []])
    reader = reader_of(consumer)

    batches = list(reader.read({("t", 0): None, ("t", 1): None}, 10, 0.1))

    assert [len(batch.records) for batch in batches] == [1, 1, 0]
    assert reader.pending == set()
    assert consumer.consumes == 3


def test_a_read_to_offsets_stops_once_the_last_record_before_each_is_read() -> None:
    consumer = FakeConsumer([[record(0, 0)], [record(0, 1), record(1, 0)], [record(1, 1)]])
    reader = reader_of(consumer)

    list(reader.read({("t", 0): 2, ("t", 1): 1}, 10, 0.1))

    assert reader.pending == set()
    assert consumer.consumes == 2  # partition 1's next record is past its end


def test_a_partition_already_at_its_offset_is_not_read() -> None:
    consumer = FakeConsumer([[record(0, 0)]], positions={0: 3})
    reader = reader_of(consumer)

    assert list(reader.read({("t", 0): 3}, 10, 0.1)) == []
    assert consumer.consumes == 0


def test_a_transaction_marker_at_the_end_counts_through_the_consumer_position() -> None:
    # The record at 0, then a commit marker at 1: no record tells of offset 2, but the
    # consumer's position moves past the marker.
    class PastTheMarker(FakeConsumer):
        def consume(self, num_messages: int, timeout: float) -> list[Message]:
            self.positions[0] = 2
            return super().consume(num_messages, timeout)

    consumer = PastTheMarker([[record(0, 0)], [record(0, 5)]])
    reader = reader_of(consumer)

    batches = list(reader.read({("t", 0): 2}, 10, 0.1))

    assert [len(batch.records) for batch in batches] == [1]
    assert reader.pending == set()


def test_an_end_of_partition_event_short_of_the_offset_ends_it_unless_told_otherwise() -> None:
    # Under read_committed, an open transaction: the end of what is committed is 1.
    ends = {("t", 0): 3}
    eof_ends = reader_of(FakeConsumer([[record(0, 0), at_end(0, 1)]]))
    list(eof_ends.read(ends, 10, 0.1))
    strict = reader_of(FakeConsumer([[record(0, 0), at_end(0, 1)]]))
    list(strict.read(ends, 10, 0.1, deadline=_soon(), eof_ends=False))

    assert eof_ends.pending == set()
    assert strict.pending == {("t", 0)}
    assert strict.positions == {("t", 0): 1}


def test_a_read_stops_at_its_deadline_with_what_is_left_pending() -> None:
    reader = reader_of(FakeConsumer([]))

    batches = list(reader.read({("t", 0): None}, 10, 0.01, deadline=_soon()))

    assert batches and all(not batch.records for batch in batches)
    assert reader.pending == {("t", 0)}


def test_positions_start_again_with_a_new_assignment() -> None:
    reader = reader_of(FakeConsumer([[record(0, 0), record(0, 1)]]))
    list(reader.read({("t", 0): 2}, 10, 0.1))

    reader.assign([TopicPartition("t", 0, 0)])

    assert reader.positions == {}


def _soon() -> float:
    return time.monotonic() + 0.05
