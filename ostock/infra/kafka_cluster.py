"""A local Kafka cluster: N KRaft nodes (each broker and controller of one quorum) from the
same jars as the single node, each with its own folder, log and ports.

Node i (from 1) listens on `first_port` + 2(i-1) for clients and the port after for its
controller; the cluster id is made once and kept beside the nodes, so a restarted node
rejoins the cluster it was formatted for.
"""

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ostock.infra.kafka import KafkaBroker
from ostock.infra.kafka_properties import Quorum


class KafkaCluster:
    """`brokers` local nodes under `data_dir`/kafka-cluster/node-<id>."""

    def __init__(
        self,
        data_dir: Path,
        cache_dir: Path,
        first_port: int,
        brokers: int,
        replication: tuple[int, int],
        scram_users: Mapping[str, str] | None = None,
    ) -> None:
        """`replication`: the replication factor and min.insync.replicas of every topic."""
        self.dir = data_dir / "kafka-cluster"
        ids = range(1, brokers + 1)
        quorum = Quorum({node: first_port + 2 * node - 1 for node in ids}, *replication)
        self.nodes = [
            KafkaBroker(
                self.dir / f"node-{node}",
                cache_dir,
                first_port + 2 * (node - 1),
                quorum,
                scram_users,
                node_id=node,
                cluster_id_file=self.dir / "cluster.id",
            )
            for node in ids
        ]

    @property
    def bootstrap(self) -> str:
        """Every node's address: clients find the cluster while any one of them runs."""
        return ",".join(node.address for node in self.nodes)

    def start(self) -> None:
        """Launch every node, then wait for each: none is ready before a quorum forms."""
        for node in self.nodes:
            node.launch()
        for node in self.nodes:
            node.await_ready()

    def stop(self) -> None:
        """Stop every node at once: one left alone would wait for a quorum to shut down."""
        with ThreadPoolExecutor(len(self.nodes)) as pool:
            list(pool.map(KafkaBroker.stop, self.nodes))

    def node(self, node_id: int) -> KafkaBroker:
        """The node of id `node_id`."""
        return self.nodes[node_id - 1]
