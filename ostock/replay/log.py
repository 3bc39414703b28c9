"""Reading event topics from their first offset to their end, as a replay does."""

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from uuid import uuid4

from confluent_kafka import OFFSET_BEGINNING, KafkaException, Message, TopicPartition

from ostock.kafka.topic_reader import TopicReader
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
        self.reader = TopicReader.opened(
            settings,
            f"{settings.redis_prefix}.replay.{uuid4().hex}",
            **{"queued.max.messages.kbytes": PREFETCH_KIB},
        )
        timeout_s = settings.kafka_timeout_s
        metadata = self.reader.consumer.list_topics(timeout=timeout_s)
        self.partitions = [
            TopicPartition(topic, partition, OFFSET_BEGINNING)
            for topic in sorted(topics)
            for partition in sorted(metadata.topics[topic].partitions)
        ]
        self.sources = {source(p.topic, p.partition) for p in self.partitions}
        #: Offsets in the log when reading started (transaction markers included): the
        #: progress bar's total.
        spans = self.reader.watermarks([(p.topic, p.partition) for p in self.partitions], timeout_s)
        self.total = sum(high - low for low, high in spans.values())
        self.reader.assign(self.partitions)

    def poll(self, most: int, timeout_s: float) -> Batch:
        """Up to `most` records; raises KafkaException on a broker error."""
        fetched = self.reader.fetch(most, timeout_s)
        if fetched.errors:
            raise KafkaException(fetched.errors[0])
        return Batch(fetched.records, {source(*where) for where in fetched.at_end})

    def close(self) -> None:
        self.reader.close()


def sources_of(reader: LogReader, topics: Iterable[str]) -> set[str]:
    """The sources (partitions) of `topics` that `reader` reads."""
    wanted = set(topics)
    return {source(p.topic, p.partition) for p in reader.partitions if p.topic in wanted}
