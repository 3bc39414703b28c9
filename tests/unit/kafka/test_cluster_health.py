"""The cluster's health from metadata as AdminClient.list_topics gives it."""

from confluent_kafka.admin import (  # type: ignore[attr-defined]
    BrokerMetadata,
    ClusterMetadata,
    PartitionMetadata,
    TopicMetadata,
)

from ostock.kafka.cluster_health import NO_LEADER, cluster_health


def metadata(
    brokers: list[int], partitions: list[tuple[int, list[int], list[int]]]
) -> ClusterMetadata:
    """A cluster of `brokers` holding topic "t" with (leader, replicas, isrs) partitions."""
    found = ClusterMetadata()
    found.brokers = {b: BrokerMetadata() for b in brokers}
    topic = TopicMetadata()
    topic.topic = "t"
    for number, (leader, replicas, isrs) in enumerate(partitions):
        partition = PartitionMetadata()
        partition.id, partition.leader = number, leader
        partition.replicas, partition.isrs = replicas, isrs
        topic.partitions[number] = partition
    found.topics = {"t": topic}
    return found


def test_every_replica_in_sync_on_every_broker_is_whole() -> None:
    health = cluster_health(metadata([1, 2, 3], [(1, [1, 2, 3], [1, 2, 3])]), expected=3)

    assert health.whole
    assert health.brokers == (1, 2, 3)


def test_a_lost_broker_shows_as_missing_and_its_partitions_short() -> None:
    partitions = [(1, [1, 2, 3], [1, 3]), (3, [2, 3, 1], [3, 1]), (NO_LEADER, [2], [])]

    health = cluster_health(metadata([1, 3], partitions), expected=3)

    assert not health.whole
    assert health.brokers == (1, 3)
    assert health.under_replicated == ("t[0]", "t[1]")
    assert health.offline == ("t[2]",)
