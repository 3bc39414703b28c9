"""Reading assigned partitions from given offsets to their end: the one loop of every
process that catches up with a topic (the event log's load, the replay, the dead letters,
the schema registry, the licensing service's organization directory, `ostock events`).

A partition's end is one of two. Its end-of-partition event (`enable.partition.eof`;
under read_committed, the end of what is committed when the consumer gets there), for a
read to the end as it is. Or an offset, its high watermark taken when the read began
(`high_watermarks`; asked by a read_committed consumer, the last stable offset), for a
read to the end as it was: reached once the consumer's position is there, so transaction
markers and aborted records at the end hold nobody up.
"""

import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from ostock.kafka.config import consumer_config
from ostock.settings import Settings

#: A partition: its topic and number.
Partition = tuple[str, int]
#: Where a read of a partition ends: an offset, or None for its end-of-partition event.
End = int | None


@dataclass
class Batch:
    """What one consume brought, sorted: the records (confluent-kafka's messages as they
    come, one object fewer per record in the hottest loops), the partitions found at their
    end with the offset there, and the errors."""

    records: list[Message] = field(default_factory=list)
    at_end: dict[Partition, int] = field(default_factory=dict)
    errors: list[KafkaError] = field(default_factory=list)


class TopicReader:
    """A consumer's assigned partitions, read batch by batch up to their ends. No consumer
    group is joined and no offset committed: partitions are assigned."""

    def __init__(self, consumer: Consumer) -> None:
        self.consumer = consumer
        #: By partition, the next offset to read, as far as the records read tell.
        self.positions: dict[Partition, int] = {}
        #: The partitions the last `read` did not bring to their end.
        self.pending: set[Partition] = set()

    @classmethod
    def opened(cls, settings: Settings, group_id: str, **extra: Any) -> "TopicReader":
        """A reader with a consumer of its own (ostock.kafka.config: committed
        transactions only) that reports each partition's end."""
        config = consumer_config(settings, group_id, **{"enable.partition.eof": True, **extra})
        return cls(Consumer(config))

    def partitions(self, topic: str, timeout_s: float) -> list[int] | None:
        """The partitions of `topic`, in order; None if the broker has no such topic."""
        metadata = self.consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return None
        return sorted(metadata.partitions)

    def assign(self, partitions: Iterable[TopicPartition]) -> None:
        """Read these partitions, each from its offset, instead of those assigned."""
        self.positions.clear()
        self.consumer.assign(list(partitions))

    def assigned(self) -> list[Partition]:
        return [(tp.topic, tp.partition) for tp in self.consumer.assignment()]

    def watermarks(
        self, partitions: Iterable[Partition], timeout_s: float, deadline: float | None = None
    ) -> dict[Partition, tuple[int, int]]:
        """The low and high watermark of each partition, asked of the broker; each ask
        waits `timeout_s` at most, and no later than `deadline` (time.monotonic()) if set.
        A broker that does not answer raises KafkaException."""
        found: dict[Partition, tuple[int, int]] = {}
        for topic, partition in partitions:
            offsets = self.consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=_within(timeout_s, deadline), cached=False
            )
            if offsets is None:
                reason = f"{topic}[{partition}]: no offsets from Kafka in time"
                raise KafkaException(KafkaError(KafkaError._TIMED_OUT, reason))
            found[topic, partition] = (int(offsets[0]), int(offsets[1]))
        return found

    def high_watermarks(
        self, partitions: Iterable[Partition], timeout_s: float, deadline: float | None = None
    ) -> dict[Partition, int]:
        """Each partition's end as it is now: its high watermark (see `watermarks`)."""
        found = self.watermarks(partitions, timeout_s, deadline)
        return {partition: high for partition, (_, high) in found.items()}

    def fetch(self, most: int, timeout_s: float) -> Batch:
        """One consume: up to `most` records, waiting `timeout_s` at most."""
        batch = Batch()
        records = batch.records
        for message in self.consumer.consume(most, timeout=timeout_s):
            error = message.error()
            if error is None:
                records.append(message)
            elif error.code() == KafkaError._PARTITION_EOF:
                # An end-of-partition event always has its topic, partition and offset.
                where = (str(message.topic()), int(message.partition() or 0))
                batch.at_end[where] = int(message.offset() or 0)
            else:
                batch.errors.append(error)
        return batch

    def read(
        self,
        ends: Mapping[Partition, End],
        most: int,
        poll_s: float,
        deadline: float | None = None,
        eof_ends: bool = True,
    ) -> Iterator[Batch]:
        """Each batch (see `fetch`; one may be empty) until every partition of `ends` is
        at its end, or `deadline` (time.monotonic()) has passed: then those left are in
        `pending`. With `eof_ends`, an end-of-partition event ends a read to an offset
        too, even one short of it."""
        self.pending = set(ends)
        offsets = any(end is not None for end in ends.values())
        if offsets:
            self._reached(ends)
        while self.pending and (deadline is None or time.monotonic() < deadline):
            batch = self.fetch(most, _within(poll_s, deadline))
            self._note(batch, ends, eof_ends, offsets)
            yield batch

    def follow(self, most: int, poll_s: float) -> Iterator[Batch]:
        """Each batch, endlessly: past the end, what is written next."""
        while True:
            yield self.fetch(most, poll_s)

    def close(self) -> None:
        self.consumer.close()

    def _note(
        self, batch: Batch, ends: Mapping[Partition, End], eof_ends: bool, offsets: bool
    ) -> None:
        """Positions and partitions at their end, after `batch`."""
        if offsets:
            for message in batch.records:
                where = (str(message.topic()), int(message.partition() or 0))
                self.positions[where] = int(message.offset() or 0) + 1
        for where, offset in batch.at_end.items():
            self.positions[where] = offset
            if where in ends and (eof_ends or ends[where] is None):
                self.pending.discard(where)
        if offsets and self.pending:
            self._reached(ends)

    def _reached(self, ends: Mapping[Partition, End]) -> None:
        """Drop from `pending` each partition read to its offset: the consumer's position
        counts transaction markers, which no record read tells of."""
        waiting = [TopicPartition(t, p) for t, p in self.pending if ends[t, p] is not None]
        for tp in self.consumer.position(waiting) if waiting else ():
            where = (tp.topic, tp.partition)
            end = ends[where]
            # Before its first fetch a partition has no position: it is read from 0.
            position = max(tp.offset, self.positions.get(where, 0), 0)
            if end is not None and position >= end:
                self.pending.discard(where)


def _within(timeout_s: float, deadline: float | None) -> float:
    """`timeout_s`, or less: no later than `deadline`."""
    if deadline is None:
        return timeout_s
    return max(min(timeout_s, deadline - time.monotonic()), 0.0)
