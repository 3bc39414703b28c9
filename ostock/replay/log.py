"""Reading event topics from their first offset to their end, as a replay does."""

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import cast
from uuid import uuid4

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from ostock.kafka.config import consumer_config
from ostock.settings import Settings

PREFETCH_KIB = 16 * 1024


@dataclass
class Batch:
    """Records read in one poll, and the partitions ("topic:partition") found at their end.

    The records are confluent-kafka's messages as they come (topic(), partition(), offset(),
    value()): one object fewer per record read, in the replay's hottest loop."""

    records: list[Message] = field(default_factory=list)
    at_end: set[str] = field(default_factory=set)


def source(topic: str, partition: int) -> str:
    """A partition as read models record it: "<topic>:<partition>"."""
    return f"{topic}:{partition}"


class LogReader:
    """Every partition of `topics` from offset 0, committed transactions only, no consumer
    group membership (partitions assigned, offsets never committed)."""

    def __init__(self, settings: Settings, topics: Collection[str]) -> None:
        # The group is never joined (partitions are assigned). Prefetch bounded
        # (librdkafka keeps up to 64 MiB by default): memory must not grow with the log.
        config = consumer_config(
            settings,
            f"{settings.redis_prefix}.replay.{uuid4().hex}",
            **{"enable.partition.eof": True, "queued.max.messages.kbytes": PREFETCH_KIB},
        )
        self.consumer = Consumer(config)
        timeout_s = settings.kafka_timeout_s
        metadata = self.consumer.list_topics(timeout=timeout_s)
        self.partitions = [
            TopicPartition(topic, partition, OFFSET_BEGINNING)
            for topic in sorted(topics)
            for partition in sorted(metadata.topics[topic].partitions)
        ]
        self.sources = {source(p.topic, p.partition) for p in self.partitions}
        #: Offsets in the log when reading started (transaction markers included): the
        #: progress bar's total.
        self.total = sum(self._span(p, timeout_s) for p in self.partitions)
        self.consumer.assign(self.partitions)

    def _span(self, partition: TopicPartition, timeout_s: float) -> int:
        low, high = self.consumer.get_watermark_offsets(partition, timeout=timeout_s)
        return int(high - low)

    def poll(self, most: int, timeout_s: float) -> Batch:
        """Up to `most` records; raises KafkaException on a broker error."""
        batch = Batch()
        for message in self.consumer.consume(most, timeout=timeout_s):
            error = message.error()
            if error is None:
                batch.records.append(message)
            elif error.code() == KafkaError._PARTITION_EOF:
                # An end-of-partition event always has its topic and partition.
                topic, partition = cast(str, message.topic()), cast(int, message.partition())
                batch.at_end.add(source(topic, partition))
            else:
                raise KafkaException(error)
        return batch

    def close(self) -> None:
        self.consumer.close()


def sources_of(reader: LogReader, topics: Iterable[str]) -> set[str]:
    """The sources (partitions) of `topics` that `reader` reads."""
    wanted = set(topics)
    return {source(p.topic, p.partition) for p in reader.partitions if p.topic in wanted}
