"""The events topic as an append-only store with an in-memory index per aggregate."""

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from time import monotonic
from typing import NamedTuple
from uuid import UUID

from confluent_kafka import Consumer as KafkaConsumer
from confluent_kafka import KafkaError, Message, Producer, TopicPartition
from eventsourcing.persistence import IntegrityError, StoredEvent

from ostock.kafka import Headers, header

log = logging.getLogger(__name__)

EVENT_TYPE = "event-type"
AGGREGATE_ID = "aggregate-id"
AGGREGATE_VERSION = "aggregate-version"


@dataclass(frozen=True)
class KeyedStoredEvent(StoredEvent):
    """A stored event with the Kafka key it is published under (its organization id)."""

    key: str = ""


class Outgoing(NamedTuple):
    """A record to produce in a transaction."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers


class EventLogError(RuntimeError):
    """The events topic could not be read or written in time."""


def _originator_id(text: str) -> UUID | str:
    try:
        return UUID(text)
    except ValueError:
        return text


class KafkaEventLog:
    """Appends events to one topic through a transactional producer and answers
    per-aggregate reads from the partitions this writer has loaded."""

    def __init__(
        self, producer: Producer, topic: str, consumer_config: dict[str, object], timeout_s: float
    ) -> None:
        self.producer = producer
        self.topic = topic
        self.timeout_s = timeout_s
        self._consumer_config = consumer_config
        self._index: dict[str, list[StoredEvent]] = {}
        # While staging: the records of the events appended, and the events.
        self._staged: list[Outgoing] | None = None
        self._staged_events: list[StoredEvent] = []

    # Reading

    def load(self, partitions: Sequence[int]) -> int:
        """Forget everything, then read the given partitions from offset 0 to their end."""
        self._index.clear()
        if not partitions:
            return 0
        consumer = KafkaConsumer({**self._consumer_config, "enable.partition.eof": True})
        loaded = 0
        try:
            consumer.assign([TopicPartition(self.topic, p, 0) for p in partitions])
            pending = set(partitions)
            deadline = monotonic() + max(self.timeout_s * 6, 30.0)
            while pending:
                if monotonic() > deadline:
                    raise EventLogError(
                        f"{self.topic} partitions {sorted(pending)} not read in time"
                    )
                for message in consumer.consume(num_messages=1000, timeout=0.2):
                    error = message.error()
                    if error is not None and error.code() == KafkaError._PARTITION_EOF:
                        pending.discard(message.partition())
                    elif error is not None:
                        raise EventLogError(f"reading {self.topic}: {error}")
                    else:
                        loaded += self._load_one(message)
        finally:
            consumer.close()
        return loaded

    def _load_one(self, message: Message) -> int:
        """Index one record read back; 1 if it was indexed. Skipped: a record that is no
        event of ours (the projectors dead-letter it) and a version already indexed (an
        event requeued from the dead letters: each consumer ignores the repeat)."""
        headers, value = message.headers(), message.value()
        if header(headers, AGGREGATE_ID) is None or value is None:
            where = f"{self.topic}[{message.partition()}]@{message.offset()}"
            log.warning("%s: skipped, no event of an aggregate", where)
            return 0
        event = self._stored_event(headers, value)
        aggregate_id = str(event.originator_id)
        known = self._index.get(aggregate_id, [])
        if any(e.originator_version == event.originator_version for e in known):
            return 0
        self._append(event, aggregate_id)
        return 1

    def select(self, originator_id: UUID | str) -> list[StoredEvent]:
        """Every event of one aggregate, in version order."""
        return self._index.get(str(originator_id), [])

    @staticmethod
    def _stored_event(
        headers: Headers | dict[str, str | bytes | None] | None, value: bytes | None
    ) -> StoredEvent:
        aggregate_id = header(headers, AGGREGATE_ID)
        version = header(headers, AGGREGATE_VERSION)
        event_type = header(headers, EVENT_TYPE)
        if aggregate_id is None or version is None or event_type is None or value is None:
            raise EventLogError("an event record lacks its aggregate headers")
        return StoredEvent(_originator_id(aggregate_id), int(version), event_type, value)

    # Writing

    def append(self, events: Sequence[StoredEvent], headers: Headers | None = None) -> None:
        """Publish events, atomically: all or none, and never a version twice. Inside
        `staging()`, they are indexed and staged for the caller's transaction instead."""
        self._check_unique(events)
        records = [self._indexed(event, headers or []) for event in events]
        if self._staged is not None:
            self._staged.extend(records)
            self._staged_events.extend(events)
            return
        try:
            self.publish(records)
        except BaseException:
            self._forget(events)
            raise

    @contextmanager
    def staging(self) -> Iterator[list[Outgoing]]:
        """Events appended in the block are indexed, and their records staged in the list
        it yields, where the caller adds records of its own and which it then publishes.
        If the block fails, the index forgets them; if publishing fails, the caller
        reloads the log."""
        staged: list[Outgoing] = []
        self._staged, self._staged_events = staged, []
        try:
            yield staged
        except BaseException:
            self._forget(self._staged_events)
            raise
        finally:
            self._staged, self._staged_events = None, []

    def publish(
        self,
        records: Sequence[Outgoing],
        offsets: list[TopicPartition] | None = None,
        group: object | None = None,
    ) -> None:
        """Produce `records` and commit consumer `group`'s `offsets` in one transaction,
        aborted as a whole if any of it fails."""
        self.producer.begin_transaction()
        try:
            for record in records:
                self.producer.produce(
                    record.topic, key=record.key, value=record.value, headers=record.headers
                )
            if offsets:
                self.producer.send_offsets_to_transaction(offsets, group, self.timeout_s)
            self.producer.commit_transaction(self.timeout_s)
        except BaseException:
            self.producer.abort_transaction(self.timeout_s)
            raise

    def _indexed(self, event: StoredEvent, headers: Headers) -> Outgoing:
        """Index `event`; its record."""
        aggregate_id = str(event.originator_id)
        key = event.key if isinstance(event, KeyedStoredEvent) else ""
        self._append(event, aggregate_id)
        return Outgoing(
            self.topic,
            (key or aggregate_id).encode(),
            event.state,
            [
                (EVENT_TYPE, event.topic.encode()),
                (AGGREGATE_ID, aggregate_id.encode()),
                (AGGREGATE_VERSION, str(event.originator_version).encode()),
                *headers,
            ],
        )

    def _check_unique(self, events: Sequence[StoredEvent]) -> None:
        seen: set[tuple[str, int]] = set()
        for event in events:
            position = (str(event.originator_id), event.originator_version)
            existing = self._index.get(position[0], [])
            if position in seen or any(e.originator_version == position[1] for e in existing):
                raise IntegrityError(f"aggregate {position[0]} already has version {position[1]}")
            seen.add(position)

    def _append(self, event: StoredEvent, aggregate_id: str) -> None:
        events = self._index.setdefault(aggregate_id, [])
        events.append(event)
        if len(events) > 1 and events[-2].originator_version > event.originator_version:
            events.sort(key=lambda e: e.originator_version)

    def _forget(self, events: Sequence[StoredEvent]) -> None:
        for event in reversed(events):
            self._index[str(event.originator_id)].remove(event)
