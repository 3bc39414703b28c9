"""The topic reader against the session's broker: committed transactions read to their
end, the commit marker past the last record included, and an open transaction left
unread by a read to the end and by one to the high watermarks alike."""

import time
from collections.abc import Iterator
from uuid import uuid4

import pytest
from confluent_kafka import OFFSET_BEGINNING, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from ostock.kafka.config import admin_config, producer_config, transactional_config
from ostock.kafka.topic_reader import End, Partition, TopicReader
from ostock.settings import Settings


@pytest.fixture
def topic(settings: Settings) -> Iterator[str]:
    """A topic of two partitions, partition 0 holding two records of one committed
    transaction (and its commit marker), partition 1 empty."""
    name = f"test-reader.{uuid4().hex[:8]}"
    admin = AdminClient(admin_config(settings))
    admin.create_topics([NewTopic(name, 2, 1)])[name].result(30)
    producer = Producer(transactional_config(settings, f"test-reader.{name}"))
    producer.init_transactions(30)
    producer.begin_transaction()
    for value in (b"first", b"second"):
        producer.produce(name, key=b"k", value=value, partition=0)
    producer.commit_transaction(30)
    yield name
    admin.delete_topics([name])


def opened(settings: Settings, topic: str) -> TopicReader:
    reader = TopicReader.opened(settings, f"test-reader.{uuid4().hex[:8]}")
    assert reader.partitions(topic, 10) == [0, 1]
    reader.assign(TopicPartition(topic, p, OFFSET_BEGINNING) for p in (0, 1))
    return reader


def values(
    reader: TopicReader, ends: dict[Partition, End], within: float = 20.0, eof_ends: bool = True
) -> list[bytes | None]:
    """The values `reader.read` brings within `within` seconds."""
    batches = reader.read(ends, 100, 0.2, time.monotonic() + within, eof_ends)
    return [message.value() for batch in batches for message in batch.records]


def test_a_read_to_the_high_watermarks_stops_past_the_commit_marker(
    settings: Settings, topic: str
) -> None:
    reader = opened(settings, topic)
    try:
        ends = reader.high_watermarks(reader.assigned(), 10)
        assert ends == {(topic, 0): 3, (topic, 1): 0}  # two records and the marker

        assert values(reader, dict(ends), eof_ends=False) == [b"first", b"second"]
        assert reader.pending == set()
    finally:
        reader.close()


def test_an_open_transaction_is_past_the_end_either_way(settings: Settings, topic: str) -> None:
    open_one = Producer(transactional_config(settings, f"test-reader.open.{topic}"))
    open_one.init_transactions(30)
    open_one.begin_transaction()
    open_one.produce(topic, value=b"uncommitted", partition=0)
    open_one.flush(10)
    to_end, to_watermark = opened(settings, topic), opened(settings, topic)
    try:
        # Asked by a read_committed consumer, the high watermark is the last stable
        # offset: the open transaction's record is not counted.
        ends = to_watermark.high_watermarks(to_watermark.assigned(), 10)
        assert ends == {(topic, 0): 3, (topic, 1): 0}

        assert values(to_end, dict.fromkeys(ends, None)) == [b"first", b"second"]
        assert values(to_watermark, dict(ends), eof_ends=False) == [b"first", b"second"]
        assert to_end.pending == to_watermark.pending == set()
    finally:
        open_one.abort_transaction(10)
        to_end.close()
        to_watermark.close()


def test_a_broker_that_answers_gives_both_watermarks(settings: Settings, topic: str) -> None:
    reader = opened(settings, topic)
    plain = Producer(producer_config(settings))
    plain.produce(topic, value=b"third", partition=1)
    plain.flush(10)
    try:
        assert reader.watermarks([(topic, 1)], 10) == {(topic, 1): (0, 1)}
    finally:
        reader.close()
