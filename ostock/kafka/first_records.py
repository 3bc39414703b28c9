"""The first committed record at an offset of a partition, read by a read_committed
consumer assigned there (no group joined): its timestamp tells how long the record has
waited for a consumer group reading next at that offset (ostock.kafka.lag)."""

import time
from collections.abc import Collection

from confluent_kafka import Consumer, KafkaError, TopicPartition

from ostock.kafka.config import QUIET, consumer_config
from ostock.kafka.topic_reader import Partition
from ostock.settings import Settings

#: Its consumer's group id: it joins no group and commits nothing.
PROBE_GROUP = "ostock.lag"
#: A partition and the offset to read from.
Probe = tuple[Partition, int]


class FirstRecords:
    """Reads the first committed record from given offsets; each read bounded by
    `timeout_s`."""

    def __init__(self, settings: Settings, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        # A fetch of one partition brings little more than the one record wanted.
        probe = {"enable.partition.eof": True, "fetch.max.bytes": 1 << 20, **QUIET}
        self.consumer = Consumer(consumer_config(settings, PROBE_GROUP, **probe))

    def timestamps(self, pending: Collection[Probe]) -> dict[Probe, int | None]:
        """For each partition and start, the timestamp (ms) of the first committed record
        at or after that start, or None when there is none before the end; those the
        consumer did not get to in time are left out. A partition read from several
        starts (groups apart) is read once per start."""
        rounds: list[dict[Partition, int]] = []
        for where, start in sorted(pending):
            free = next((r for r in rounds if where not in r), None)
            if free is None:
                free = {}
                rounds.append(free)
            free[where] = start
        found: dict[Probe, int | None] = {}
        for starts in rounds:
            firsts = self._read(starts)
            found.update({(where, starts[where]): ts for where, ts in firsts.items()})
        return found

    def _read(self, starts: dict[Partition, int]) -> dict[Partition, int | None]:
        found: dict[Partition, int | None] = {}
        assigned = [TopicPartition(t, p, offset) for (t, p), offset in starts.items()]
        self.consumer.assign(assigned)
        deadline = time.monotonic() + self.timeout_s
        try:
            while len(found) < len(starts) and time.monotonic() < deadline:
                for message in self.consumer.consume(100, timeout=0.2):
                    where = (str(message.topic()), int(message.partition() or 0))
                    error = message.error()
                    if where in found or (error and error.code() != KafkaError._PARTITION_EOF):
                        continue
                    found[where] = None if error else message.timestamp()[1]
                    # Only the first record counts: fetch no more of this partition.
                    self.consumer.pause([TopicPartition(*where)])
        finally:
            # A partition stays paused across assignments: resume it for the next round.
            self.consumer.resume(assigned)
            self.consumer.unassign()
        return found

    def close(self) -> None:
        self.consumer.close()
