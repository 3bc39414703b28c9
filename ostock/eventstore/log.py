"""The events topic as an append-only store with an in-memory index per aggregate."""

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from time import monotonic
from uuid import UUID

from confluent_kafka import Consumer as KafkaConsumer
from confluent_kafka import Message, TopicPartition
from eventsourcing.persistence import IntegrityError, StoredEvent

from ostock.eventstore.transactions import EventLogError, Outgoing, Transactions
from ostock.kafka.config import Headers, header
from ostock.kafka.topic_reader import TopicReader

log = logging.getLogger(__name__)

EVENT_TYPE = "event-type"
AGGREGATE_ID = "aggregate-id"
AGGREGATE_VERSION = "aggregate-version"


@dataclass(frozen=True)
class KeyedStoredEvent(StoredEvent):
    """A stored event with the Kafka key it is published under (its organization id)."""

    key: str = ""


def _originator_id(text: str) -> UUID | str:
    try:
        return UUID(text)
    except ValueError:
        return text


#: An indexed event: (version, topic, state). The index holds an aggregate's events as a
#: tuple of such tuples, plain immutable values that Python's garbage collector stops
#: tracking: kept as lists of StoredEvent objects (four tracked objects per event of a
#: new aggregate), a large index made each full collection pause the handler
#: (docs/performance.md, "Garbage collection").
Indexed = tuple[int, str, bytes]


class KafkaEventLog:
    """Appends events to one topic through `transactions` and answers per-aggregate
    reads from the partitions this writer has loaded."""

    def __init__(
        self,
        transactions: Transactions,
        topic: str,
        consumer_config: dict[str, object],
        timeout_s: float,
    ) -> None:
        self.transactions = transactions
        self.topic = topic
        self.timeout_s = timeout_s
        self._consumer_config = consumer_config
        self._index: dict[str, tuple[Indexed, ...]] = {}
        # While staging: the records of the events appended, and the events.
        self._staged: list[Outgoing] | None = None
        self._staged_events: list[StoredEvent] = []

    # Reading

    def load(self, partitions: Sequence[int]) -> int:
        """Forget everything, then read the given partitions from offset 0 to their end."""
        self._index.clear()
        if not partitions:
            return 0
        reader = TopicReader(KafkaConsumer({**self._consumer_config, "enable.partition.eof": True}))
        loaded = 0
        try:
            reader.assign(TopicPartition(self.topic, p, 0) for p in partitions)
            to_eof = dict.fromkeys(((self.topic, p) for p in partitions), None)
            deadline = monotonic() + max(self.timeout_s * 6, 30.0)
            for batch in reader.read(to_eof, 1000, 0.2, deadline):
                if batch.errors:
                    raise EventLogError(f"reading {self.topic}: {batch.errors[0]}")
                for message in batch.records:
                    loaded += self._load_one(message)
            if reader.pending:
                pending = sorted(p for _, p in reader.pending)
                raise EventLogError(f"{self.topic} partitions {pending} not read in time")
        finally:
            reader.close()
        return loaded

    def _load_one(self, message: Message) -> int:
        """Index one record read back; 1 if it was indexed. Skipped: a record that is no
        event of ours (the projectors dead-letter it) and a version already indexed (an
        event requeued from the dead letters: each consumer ignores the repeat)."""
        headers, value = message.headers(), message.value()
        aggregate_id = header(headers, AGGREGATE_ID)
        version = header(headers, AGGREGATE_VERSION)
        event_type = header(headers, EVENT_TYPE)
        if aggregate_id is None or version is None or event_type is None or value is None:
            where = f"{self.topic}[{message.partition()}]@{message.offset()}"
            log.warning("%s: skipped, no event of an aggregate", where)
            return 0
        if any(indexed[0] == int(version) for indexed in self._index.get(aggregate_id, ())):
            return 0
        self._append(aggregate_id, (int(version), event_type, value))
        return 1

    def select(self, originator_id: UUID | str) -> list[StoredEvent]:
        """Every event of one aggregate, in version order."""
        indexed = self._index.get(str(originator_id))
        if not indexed:
            return []
        if not isinstance(originator_id, UUID):
            originator_id = _originator_id(originator_id)
        return [StoredEvent(originator_id, *event) for event in indexed]

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
            self.transactions.publish(records)
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

    def _indexed(self, event: StoredEvent, headers: Headers) -> Outgoing:
        """Index `event`; its record."""
        aggregate_id = str(event.originator_id)
        key = event.key if isinstance(event, KeyedStoredEvent) else ""
        self._append(aggregate_id, (event.originator_version, event.topic, event.state))
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
            existing = self._index.get(position[0], ())
            if position in seen or any(indexed[0] == position[1] for indexed in existing):
                raise IntegrityError(f"aggregate {position[0]} already has version {position[1]}")
            seen.add(position)

    def _append(self, aggregate_id: str, event: Indexed) -> None:
        events = (*self._index.get(aggregate_id, ()), event)
        if len(events) > 1 and events[-2][0] > event[0]:
            events = tuple(sorted(events, key=lambda indexed: indexed[0]))
        self._index[aggregate_id] = events

    def _forget(self, events: Sequence[StoredEvent]) -> None:
        for event in events:
            aggregate_id = str(event.originator_id)
            kept = tuple(e for e in self._index[aggregate_id] if e[0] != event.originator_version)
            self._index[aggregate_id] = kept
