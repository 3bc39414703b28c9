"""The session's 3-node Kafka cluster as `ostock infra` runs it: every node known to each
other, topics replicated as the cluster's size allows, the CLI's view of each node."""

import subprocess
import sys

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource  # type: ignore[attr-defined]

from ostock.infra.local import LocalInfra
from ostock.kafka.cluster_health import cluster_health
from ostock.kafka.config import admin_config
from ostock.settings import Settings, settings_env
from tests.conftest import CLUSTER_BROKERS

pytestmark = [pytest.mark.integration, pytest.mark.cluster]


def test_every_topic_has_three_replicas_two_of_them_needed_and_no_unclean_leader(
    cluster_settings: Settings,
) -> None:
    admin = AdminClient(admin_config(cluster_settings))
    metadata = admin.list_topics(timeout=10)
    ours = [name for _, name in cluster_settings.topics]

    assert sorted(metadata.brokers) == [1, 2, 3]
    assert cluster_health(metadata, CLUSTER_BROKERS).whole
    for name in ours:
        replicas = {len(p.replicas) for p in metadata.topics[name].partitions.values()}
        assert replicas == {3}, name
    resources = [ConfigResource("topic", name) for name in ours]
    for resource, future in admin.describe_configs(resources).items():
        config = future.result(timeout=10)
        assert config["min.insync.replicas"].value == "2", resource
        assert config["unclean.leader.election.enable"].value == "false", resource
    broker = admin.describe_configs([ConfigResource("broker", "2")])
    config = next(iter(broker.values())).result(timeout=10)
    for name in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor"):
        assert config[name].value == "3", name
    assert config["transaction.state.log.min.isr"].value == "2"


def test_infra_up_reuses_every_node_and_status_lists_each(
    kafka_cluster: LocalInfra, cluster_settings: Settings
) -> None:
    first = kafka_cluster.kafka.nodes[0]
    options = [
        f"--data-dir={kafka_cluster.data_dir}",
        f"--kafka-port={first.port}",
        f"--redis-port={kafka_cluster.redis.port}",
        f"--brokers={CLUSTER_BROKERS}",
    ]
    cli = [sys.executable, "-m", "ostock", "infra"]
    env = settings_env(cluster_settings)

    up = subprocess.run([*cli, "up", *options], env=env, capture_output=True, text=True)
    status = subprocess.run([*cli, "status", *options], env=env, capture_output=True, text=True)

    assert up.returncode == 0, up.stderr
    assert up.stdout.count("Kafka already running") == CLUSTER_BROKERS
    assert status.returncode == 0, status.stdout
    for node in kafka_cluster.kafka.nodes:
        line = next(x for x in status.stdout.splitlines() if x.startswith(f"kafka-{node.node_id}"))
        assert f"running (pid {node.pid()})" in line and node.address in line
