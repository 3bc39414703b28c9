"""Fixtures shared by every test layer.

Kafka and Redis start once per session, and only when a test asks for `infra`
or `settings`: unit tests ask for neither and start nothing. By default they are
local processes (ostock.infra, the code `ostock infra up` runs) on free ports in
a temporary folder; OSTOCK_TEST_CONTAINERS=1 uses testcontainers instead, which
needs a Docker engine.
"""

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from ostock.deployables import PROCESSES
from ostock.infra.local import LocalInfra
from ostock.infra.ports import free_port, free_port_block
from ostock.infra.redis_cluster import RedisCluster
from ostock.infra.topics import ensure_topics
from ostock.settings import Settings
from tests.isolated import local_infra

# Fewer partitions than the default: topics and consumer groups get ready sooner.
TEST_PARTITIONS = 3
#: The nodes of the session's Kafka cluster (tests marked `cluster`).
CLUSTER_BROKERS = 3
# Masters of the session's Redis Cluster.
CLUSTER_MASTERS = 3
#: What the tests marked both_redis run against, each in turn.
REDIS_KINDS = ("redis", "redis-cluster")


@dataclass(frozen=True)
class Endpoints:
    """Where the session's Kafka and Redis listen."""

    kafka_bootstrap: str
    redis_url: str


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoints]:
    """Kafka and Redis for the whole session, stopped at its end."""
    if os.environ.get("OSTOCK_TEST_CONTAINERS") == "1":
        yield from _containers()
        return
    with _torn_down(tmp_path_factory.mktemp("infra"), brokers=1) as local:
        yield Endpoints(local.kafka.bootstrap, local.redis.url)


@pytest.fixture(scope="session")
def kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalInfra]:
    """A Kafka cluster of CLUSTER_BROKERS nodes, and a Redis, for the whole session."""
    with _torn_down(tmp_path_factory.mktemp("cluster"), CLUSTER_BROKERS) as local:
        yield local


@pytest.fixture(scope="session")
def cluster_settings(
    kafka_cluster: LocalInfra, redis_cluster: RedisCluster, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """Settings pointing at the session's Kafka cluster (every node) and Redis Cluster, with
    every topic created, replicated as the Kafka cluster's size allows."""
    cluster = Endpoints(kafka_cluster.kafka.bootstrap, redis_cluster.url)
    return session_settings(cluster, tmp_path_factory, kafka_brokers=CLUSTER_BROKERS)


@contextmanager
def _torn_down(folder: Path, brokers: int) -> Iterator[LocalInfra]:
    # A run stopped with SIGTERM (a CI timeout) still tears down: the brokers and
    # Redis run in sessions of their own and would otherwise outlive it.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with local_infra(folder, brokers) as local:
            yield local
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _containers() -> Iterator[Endpoints]:
    # Imported here: only this branch needs testcontainers (and Docker).
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.community.redis import RedisContainer

    kafka = (
        KafkaContainer()
        .with_kraft()
        # One broker: the transaction state topic can have only one replica.
        .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
        .with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
    )
    with kafka, RedisContainer("redis:7") as redis:  # Redis Functions need 7+
        redis_address = f"{redis.get_container_host_ip()}:{redis.get_exposed_port(redis.port)}"
        yield Endpoints(kafka.get_bootstrap_server(), f"redis://{redis_address}/0")


@pytest.fixture(scope="session")
def settings(infra: Endpoints, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings pointing at the session's Kafka and Redis, with every topic created."""
    return session_settings(infra, tmp_path_factory)


def session_settings(
    endpoints: Endpoints, tmp_path_factory: pytest.TempPathFactory, **update: Any
) -> Settings:
    """Settings of a test session on `endpoints`, plus `update`, with every topic created."""
    settings = Settings(
        kafka_bootstrap=endpoints.kafka_bootstrap,
        redis_url=endpoints.redis_url,
        topic_partitions=TEST_PARTITIONS,
        redis_prefix=f"test-{uuid4().hex[:8]}",
        # The workers' /metrics: never the default ports, which a running system may hold.
        metrics_port_base=free_port_block(len(PROCESSES)),
        data_dir=tmp_path_factory.mktemp("data"),
        config_dir=tmp_path_factory.mktemp("config"),  # the development issuer's keys
        **update,
    )
    ensure_topics(settings)
    return settings


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    """A Redis Cluster of CLUSTER_MASTERS masters on free ports for the whole session,
    started only when a test asks for it (the both_redis tests' cluster run)."""
    ports = [free_port() for _ in range(2 * CLUSTER_MASTERS)]
    cluster = RedisCluster(
        tmp_path_factory.mktemp("redis-cluster"), ports[:CLUSTER_MASTERS], ports[CLUSTER_MASTERS:]
    )
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test marked both_redis runs once on one Redis and once on the Redis Cluster."""
    if metafunc.definition.get_closest_marker("both_redis") and (
        "redis_kind" in metafunc.fixturenames
    ):
        metafunc.parametrize("redis_kind", REDIS_KINDS, indirect=True, scope="module")


@pytest.fixture(scope="module")
def redis_kind(request: pytest.FixtureRequest) -> str:
    """Which Redis the test runs on: one Redis unless both_redis asks for both."""
    return str(getattr(request, "param", REDIS_KINDS[0]))


@pytest.fixture(scope="module")
def redis_url(redis_kind: str, infra: Endpoints, request: pytest.FixtureRequest) -> str:
    """The URL of the Redis the test runs on."""
    if redis_kind == "redis-cluster":
        cluster: RedisCluster = request.getfixturevalue("redis_cluster")
        return cluster.url
    return infra.redis_url
