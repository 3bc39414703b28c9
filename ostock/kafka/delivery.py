"""Producing records and waiting, bounded, until the broker has acknowledged every one;
counting those it has (`sent`)."""

from collections.abc import Callable, Iterable
from typing import NamedTuple

from confluent_kafka import KafkaError, Message, Producer

from ostock.kafka.config import ANY_PARTITION, Headers
from ostock.telemetry.labels import count_topics
from ostock.telemetry.metrics import SENT


class Outgoing(NamedTuple):
    """A record to produce; to `partition`, or where its key leads."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers
    partition: int = ANY_PARTITION


#: A produce callback: the broker's answer about one record.
OnDelivery = Callable[[KafkaError | None, Message], None]


def produce(producer: Producer, record: Outgoing, on_delivery: OnDelivery | None = None) -> None:
    """Hand `record` to `producer` (queued: `flush` waits for it)."""
    producer.produce(
        record.topic,
        key=record.key,
        value=record.value,
        partition=record.partition,
        headers=record.headers,
        on_delivery=on_delivery,
    )


def sent(topics: Iterable[str]) -> None:
    """Count records the broker acknowledged (or committed), one topic per record."""
    count_topics(SENT, topics)


def deliver(
    producer: Producer,
    records: Iterable[Outgoing],
    timeout_s: float,
    what: str,
    error: type[Exception],
    purge: bool = False,
) -> int:
    """Produce every record, then wait up to `timeout_s` for the broker's acks; how many
    were produced. Raises `error` ("N <what> unconfirmed, M failed: ...") if a record is
    not acknowledged in time or is refused. With `purge`, the unacknowledged ones are
    dropped before raising (for a producer about to be thrown away)."""
    failures: list[str] = []
    acknowledged: list[str] = []

    def delivered(failure: KafkaError | None, message: Message) -> None:
        if failure is not None:
            failures.append(f"{message.key()!r}: {failure}")
        else:
            acknowledged.append(message.topic() or "")

    count = 0
    for record in records:
        produce(producer, record, delivered)
        producer.poll(0)
        count += 1
    remaining = producer.flush(timeout_s)
    sent(acknowledged)
    if remaining and purge:  # given up: dropped here rather than warned about at exit
        producer.purge()
        producer.flush(0)
    if remaining or failures:
        raise error(f"{remaining} {what} unconfirmed, {len(failures)} failed: {failures[:3]}")
    return count
