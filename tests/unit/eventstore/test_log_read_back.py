"""Reading the events topic back: a record that is no aggregate's event is skipped (the
projectors dead-letter it), and an event requeued from the dead letters counts once."""

from typing import Any, cast

from confluent_kafka import Message

from ostock.eventstore.log import AGGREGATE_ID, AGGREGATE_VERSION, EVENT_TYPE, KafkaEventLog
from ostock.kafka.config import Headers

AGGREGATE = "5a4bd1c4-4a3f-4d55-9b1c-1ef8c1a7a0a1"


def event(offset: int, version: int, value: bytes) -> Message:
    headers: Headers = [
        (EVENT_TYPE, b"ostock.organization.OrganizationUpdated"),
        (AGGREGATE_ID, AGGREGATE.encode()),
        (AGGREGATE_VERSION, str(version).encode()),
    ]
    return Message(topic="events", partition=0, offset=offset, value=value, headers=headers)


def test_poison_is_skipped_and_a_repeated_version_counts_once() -> None:
    log = KafkaEventLog(cast(Any, None), "events", {}, 1.0)
    records = [
        event(0, 1, b"v1"),
        Message(topic="events", partition=0, offset=1, value=b"\x00 garbage"),
        event(2, 2, b"v2"),
        event(3, 1, b"v1"),  # requeued
    ]
    assert [log._load_one(record) for record in records] == [1, 0, 1, 0]
    assert [e.state for e in log.select(AGGREGATE)] == [b"v1", b"v2"]
