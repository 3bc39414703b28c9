"""How whole the Kafka cluster is, from one metadata request: the brokers it shows and the
partitions short of in-sync replicas or without a leader (a broker lost shows as both)."""

from dataclasses import dataclass

# confluent_kafka.admin re-exports ClusterMetadata without listing it, which mypy --strict flags.
from confluent_kafka.admin import ClusterMetadata  # type: ignore[attr-defined]

#: The leader of a partition no live replica can lead.
NO_LEADER = -1


@dataclass(frozen=True)
class ClusterHealth:
    """The ids of the brokers the metadata shows, how many there should be, and the
    partitions (topic[n], internal topics included) under-replicated or offline."""

    brokers: tuple[int, ...]
    expected: int
    under_replicated: tuple[str, ...]
    offline: tuple[str, ...]

    @property
    def whole(self) -> bool:
        """Every broker is there and every partition has all its replicas in sync."""
        return len(self.brokers) >= self.expected and not self.under_replicated and not self.offline


def cluster_health(metadata: ClusterMetadata, expected: int) -> ClusterHealth:
    """The health `metadata` (AdminClient.list_topics) shows of a cluster of `expected`
    brokers."""
    under: list[str] = []
    offline: list[str] = []
    for name, topic in sorted(metadata.topics.items()):
        for number, partition in sorted(topic.partitions.items()):
            if partition.leader == NO_LEADER:
                offline.append(f"{name}[{number}]")
            elif len(partition.isrs) < len(partition.replicas):
                under.append(f"{name}[{number}]")
    return ClusterHealth(tuple(sorted(metadata.brokers)), expected, tuple(under), tuple(offline))
