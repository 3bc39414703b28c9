"""A node's server.properties and the replication settings derive from the cluster's size."""

from pathlib import Path

import pytest

from ostock.infra.kafka_properties import Quorum, server_properties
from ostock.settings import Settings


def properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line and line[0] != "#")
    return {key: value for key, value in pairs}


@pytest.mark.parametrize(
    ("brokers", "factor", "min_isr"), [(1, 1, 1), (2, 2, 1), (3, 3, 2), (5, 3, 2)]
)
def test_replication_follows_the_cluster_size_unless_set(
    brokers: int, factor: int, min_isr: int
) -> None:
    derived = Settings(kafka_brokers=brokers)
    assert (derived.replication_factor, derived.min_insync_replicas) == (factor, min_isr)
    chosen = Settings(kafka_brokers=brokers, kafka_replication_factor=2)
    assert (chosen.replication_factor, chosen.min_insync_replicas) == (2, 1)
    pinned = Settings(kafka_brokers=brokers, kafka_min_insync_replicas=1)
    assert pinned.min_insync_replicas == 1


def test_a_node_of_three_knows_the_quorum_and_replicates_internal_topics() -> None:
    quorum = Quorum({1: 101, 2: 103, 3: 105}, replication_factor=3, min_insync_replicas=2)

    found = properties(server_properties(2, 102, quorum, Path("/d"), None))

    assert found["node.id"] == "2"
    assert found["controller.quorum.voters"] == "1@127.0.0.1:101,2@127.0.0.1:103,3@127.0.0.1:105"
    assert found["listeners"] == "PLAINTEXT://127.0.0.1:102,CONTROLLER://127.0.0.1:103"
    assert found["unclean.leader.election.enable"] == "false"
    for key in ("offsets.topic", "transaction.state.log", "default"):
        assert found[f"{key}.replication.factor"] == "3"
    assert found["transaction.state.log.min.isr"] == found["min.insync.replicas"] == "2"
