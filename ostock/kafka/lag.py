"""How far each consumer group is behind, per partition of the topics it consumes, and
who its members are.

A partition's end is its last stable offset: the groups read committed records only, so
a transaction still open is not pending yet. Its lag in records is end minus committed
offset, what Kafka's own tooling reports; that count includes transaction markers and
aborted records, so it stays above 0 after a transaction even when nothing is pending.
Its lag in seconds is the age of the first committed record from the committed offset
(ostock.kafka.first_records). When there is none before the end, nothing is pending: both
lags are 0.
"""

import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from confluent_kafka import (
    ConsumerGroupTopicPartitions,
    IsolationLevel,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import (  # type: ignore[attr-defined]  # re-exported, no __all__
    AdminClient,
    ConsumerGroupDescription,
    OffsetSpec,
)

from ostock.kafka.config import QUIET, admin_config
from ostock.kafka.first_records import FirstRecords
from ostock.kafka.topic_reader import Partition
from ostock.settings import Settings

#: The timestamp of a first pending record not read in time (Kafka's are never negative).
UNREAD = -1
#: A group coordinator that moves or loads (a fresh broker's offsets topic): ask again.
MOVING = {
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
}
RETRY_S = 0.2
LATEST: OffsetSpec = OffsetSpec.latest()  # type: ignore[no-untyped-call]
EARLIEST: OffsetSpec = OffsetSpec.earliest()  # type: ignore[no-untyped-call]

T = TypeVar("T")


@dataclass(frozen=True)
class PartitionLag:
    """One partition of a group: where the group stands and how far behind it is.

    `committed` is None while the group has committed nothing there (it reads from the
    first record); `seconds` is None when the first pending record was not read in time.
    """

    group: str
    topic: str
    partition: int
    committed: int | None
    end: int
    records: int
    seconds: float | None


@dataclass(frozen=True)
class Member:
    """A member of a consumer group and the partitions it is assigned."""

    client_id: str
    host: str
    instance: str | None  # its group.instance.id (static membership), if it has one
    partitions: tuple[Partition, ...]


@dataclass(frozen=True)
class GroupState:
    """A consumer group: its state as the coordinator says (STABLE, EMPTY, ...), its
    members, and its lag on each partition of the topics asked about."""

    group: str
    state: str
    members: tuple[Member, ...]
    lags: tuple[PartitionLag, ...]


def lag_records(start: int, end: int) -> int:
    """Offsets from where the group reads next to the partition's end (none below 0)."""
    return max(end - start, 0)


def lag_seconds(oldest_ms: int, now_s: float) -> float:
    """Age of the oldest pending record, by its timestamp (none below 0: clocks drift)."""
    return max(now_s - oldest_ms / 1000, 0.0)


class LagReader:
    """Asks Kafka for the lag and members of consumer groups; every call bounded by
    `timeout_s`. A broker that fails raises KafkaException, one that does not answer
    TimeoutError."""

    def __init__(self, settings: Settings, timeout_s: float | None = None) -> None:
        self.timeout_s = timeout_s or settings.kafka_timeout_s
        self.admin = AdminClient(admin_config(settings) | QUIET)
        self.firsts = FirstRecords(settings, self.timeout_s)

    def groups(self, groups: Sequence[str], topics: Collection[str]) -> list[GroupState]:
        """Each of `groups`, its lag on the partitions of `topics` it has committed
        offsets on or is assigned (a shared broker holds other systems' topics too).
        Asked again while the groups' coordinator moves or loads, up to `timeout_s`."""
        return self._retried(lambda: self._groups(groups, topics))

    def members(self, groups: Sequence[str]) -> dict[str, tuple[Member, ...]]:
        """Each of `groups`' members and their partitions, without the lag: one question
        (asked again as `groups` is)."""
        return self._retried(lambda: {g: _members(d) for g, d in self._describe(groups).items()})

    def _retried(self, ask: Callable[[], T]) -> T:
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                return ask()
            except KafkaException as error:
                if error.args[0].code() not in MOVING or time.monotonic() > deadline:
                    raise
            time.sleep(RETRY_S)

    def _describe(self, groups: Sequence[str]) -> dict[str, ConsumerGroupDescription]:
        described = self.admin.describe_consumer_groups(
            list(groups), request_timeout=self.timeout_s
        )
        return {g: _result(described[g], self.timeout_s) for g in groups}

    def _groups(self, groups: Sequence[str], topics: Collection[str]) -> list[GroupState]:
        descriptions = self._describe(groups)
        members = {g: _members(descriptions[g]) for g in groups}
        committed = {g: self._committed(g, members[g], topics) for g in groups}
        ends = self._offsets({where for c in committed.values() for where in c}, LATEST)
        starts = {g: self._starts(c) for g, c in committed.items()}
        pending = {(w, s) for g in groups for w, s in starts[g].items() if s < ends[w]}
        oldest = self.firsts.timestamps(pending)
        now = time.time()
        return [
            GroupState(
                group,
                descriptions[group].state.name,
                members[group],
                tuple(
                    partition_lag(
                        group,
                        where,
                        committed[group][where],
                        start,
                        ends[where],
                        oldest.get((where, start), UNREAD),
                        now,
                    )
                    for where, start in sorted(starts[group].items())
                ),
            )
            for group in groups
        ]

    def close(self) -> None:
        self.firsts.close()

    def _committed(
        self, group: str, members: Sequence[Member], topics: Collection[str]
    ) -> dict[Partition, int | None]:
        """The group's committed offsets on `topics`, and None on the partitions of them
        its members are assigned but it has committed nothing on."""
        request = [ConsumerGroupTopicPartitions(group)]
        future = self.admin.list_consumer_group_offsets(request, request_timeout=self.timeout_s)
        found: ConsumerGroupTopicPartitions = _result(future[group], self.timeout_s)
        committed: dict[Partition, int | None] = {
            (tp.topic, tp.partition): tp.offset if tp.offset >= 0 else None
            for tp in found.topic_partitions or ()
            if tp.topic in topics
        }
        for member in members:
            for where in member.partitions:
                if where[0] in topics:
                    committed.setdefault(where, None)
        return committed

    def _starts(self, committed: dict[Partition, int | None]) -> dict[Partition, int]:
        """Where the group reads next on each partition: its committed offset, or the
        partition's first offset where it has none (it resets to the earliest)."""
        fresh = {where for where, offset in committed.items() if offset is None}
        firsts = self._offsets(fresh, EARLIEST) if fresh else {}
        return {w: firsts[w] if o is None else o for w, o in committed.items()}

    def _offsets(self, partitions: Collection[Partition], spec: OffsetSpec) -> dict[Partition, int]:
        if not partitions:
            return {}
        futures = self.admin.list_offsets(
            {TopicPartition(t, p): spec for t, p in partitions},
            isolation_level=IsolationLevel.READ_COMMITTED,
            request_timeout=self.timeout_s,
        )
        return {
            (tp.topic, tp.partition): int(_result(future, self.timeout_s).offset)
            for tp, future in futures.items()
        }


def partition_lag(
    group: str,
    where: Partition,
    committed: int | None,
    start: int,
    end: int,
    first: int | None,
    now_s: float,
) -> PartitionLag:
    """The lag of `group` on partition `where`, reading next at `start` (its committed
    offset, else the partition's first) where the partition ends at `end`; `first` is the
    timestamp (ms) of the first committed record from `start`, None if the end came first,
    and UNREAD if it was not read in time."""
    topic, partition = where
    records = lag_records(start, end)
    if records == 0 or first is None:  # None: only markers or aborted records before the end
        return PartitionLag(group, topic, partition, committed, end, 0, 0.0)
    seconds = None if first == UNREAD else lag_seconds(first, now_s)
    return PartitionLag(group, topic, partition, committed, end, records, seconds)


def _members(description: ConsumerGroupDescription) -> tuple[Member, ...]:
    return tuple(
        Member(
            member.client_id,
            member.host,
            member.group_instance_id,
            tuple(sorted((tp.topic, tp.partition) for tp in member.assignment.topic_partitions)),
        )
        for member in description.members
    )


def _result(future: "Future[Any]", timeout_s: float) -> Any:
    return future.result(timeout=timeout_s)
