"""One broker of a 3-node cluster SIGKILLed while commands flow through the whole system,
then started again: every command is decided once and rightly, every view reaches its
version, no event is written twice, `ostock status` shows the lost broker while it is
down, and the cluster heals once it is back."""

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from confluent_kafka.admin import AdminClient

from ostock.contract import Codec
from ostock.deployables import consumer_group
from ostock.infra.local import LocalInfra
from ostock.kafka.cluster_health import ClusterHealth, cluster_health
from ostock.kafka.config import admin_config
from ostock.settings import Settings, settings_env
from tests.conftest import CLUSTER_BROKERS, Endpoints, session_settings
from tests.decisions import assert_decided_rightly, read_to_end
from tests.flow import Flow, creates_and_updates
from tests.integration.conftest import admin_client, with_free_ports
from tests.isolated import local_infra
from tests.kafka_helpers import sigkill
from tests.processes import Worker, running_system

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

ORGANIZATIONS = 300
UPDATES = 2  # rounds of an update of each organization after its create
OUTAGE_S = 15
SEEN_S = 30  # the controller fences a silent broker after broker.session.timeout.ms
HEAL_S = 60
#: librdkafka may abort on an assertion when a broker dies (librdkafka#4605) in the lag
#: exporter; `ostock run` starts it again, these fixtures do not.
MAY_ABORT = {"lag-exporter"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalInfra]:
    """A cluster of this module's own (and a Redis): the session's keeps all its nodes."""
    with local_infra(tmp_path_factory.mktemp("broker-loss"), CLUSTER_BROKERS) as local:
        yield local


@pytest.fixture(scope="module")
def own(cluster: LocalInfra, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    endpoints = Endpoints(cluster.kafka.bootstrap, cluster.redis.url)
    return with_free_ports(
        session_settings(endpoints, tmp_path_factory, kafka_brokers=CLUSTER_BROKERS)
    )


@pytest.fixture(scope="module")
def system(own: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Worker]]:
    with running_system(own, tmp_path_factory.mktemp("broker-loss-logs")) as workers:
        yield workers


def test_a_broker_lost_while_commands_flow_loses_nothing_and_heals(
    cluster: LocalInfra, own: Settings, system: dict[str, Worker]
) -> None:
    organizations = [str(uuid4()) for _ in range(ORGANIZATIONS)]
    commands = creates_and_updates(organizations, UPDATES)
    admin = AdminClient(admin_config(own))
    with Flow(own, commands):
        time.sleep(3)
        victim = coordinator(admin, consumer_group(own, "organization-handler") or "")
        node = next(n for n in cluster.kafka.nodes if n.node_id == victim)
        sigkill(node)
        down = status_until(own, lambda s: victim not in s["brokers"] and s["under_replicated"])
        time.sleep(max(OUTAGE_S - down, 0))
        node.start()

    assert_decided_rightly(
        own,
        commands,
        own.topics.organization_commands,
        own.topics.organization_events,
        timeout_s=180,
    )
    events, _ = read_to_end(own, own.topics.organization_events)
    codec = Codec()
    event_ids = Counter(codec.decode(m.value()).fields["meta"]["event_id"] for m in events)
    assert [i for i, n in event_ids.items() if n > 1] == [], "an event written twice"
    with admin_client(own) as api:
        for organization_id in organizations:
            view = api.get(
                f"/v1/organizations/{organization_id}", params={"min_version": UPDATES + 1}
            )
            assert view.status_code == 200, view.text
            assert view.json()["version"] == UPDATES + 1
    health = heal(admin)
    assert health.whole, health
    for name, worker in system.items():
        assert worker.alive() or name in MAY_ABORT, f"{name}: {worker.output()[-3000:]}"


def coordinator(admin: AdminClient, group: str) -> int:
    """The id of the broker that coordinates consumer group `group`."""
    described = admin.describe_consumer_groups([group])[group].result(timeout=10)
    broker: int = described.coordinator.id
    return broker


def status_until(settings: Settings, seen: Any) -> float:
    """Run `ostock status --json` until `seen(its cluster)` holds; the seconds it took."""
    started = time.monotonic()
    command = [sys.executable, "-m", "ostock", "status", "--json"]
    while True:
        done = subprocess.run(
            command, env=settings_env(settings), capture_output=True, text=True, timeout=60
        )
        cluster = json.loads(done.stdout)["cluster"]
        if cluster is not None and seen(cluster):
            assert done.returncode == 1, done.stdout  # a degraded cluster is unwell
            return time.monotonic() - started
        assert time.monotonic() - started < SEEN_S, f"status never showed it: {cluster}"
        time.sleep(1)


def heal(admin: AdminClient) -> ClusterHealth:
    """The cluster's health once whole, or as it is after HEAL_S."""
    deadline = time.monotonic() + HEAL_S
    while True:
        health = cluster_health(admin.list_topics(timeout=10), CLUSTER_BROKERS)
        if health.whole or time.monotonic() > deadline:
            return health
        time.sleep(1)
