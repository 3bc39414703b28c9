"""The broker SIGKILLed and started again while commands flow: the handlers ride it out
by themselves (a producer fenced by the recovering coordinator is replaced) and every
command published before, during and after is decided exactly once and rightly."""

import time
from collections.abc import Iterator

import pytest

from ostock.infra.local import LocalInfra
from ostock.infra.topics import ensure_topics
from ostock.kafka.publisher import CommandPublisher
from ostock.settings import Settings
from tests.decisions import assert_decided_rightly
from tests.flow import Flow, created, creates_and_updates, grants_and_changes
from tests.isolated import local_infra
from tests.kafka_helpers import sigkill
from tests.processes import Worker

pytestmark = pytest.mark.integration

OUTAGE_S = 10


@pytest.fixture(scope="module")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalInfra]:
    """A broker (and Redis) of this module's own: the session's stays up."""
    with local_infra(tmp_path_factory.mktemp("bounced")) as local:
        yield local


@pytest.fixture(scope="module")
def own(infra: LocalInfra, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = Settings(
        kafka_bootstrap=infra.kafka.bootstrap,
        redis_url=infra.redis.url,
        topic_partitions=3,
        data_dir=tmp_path_factory.mktemp("data"),
        config_dir=tmp_path_factory.mktemp("config"),
    )
    ensure_topics(settings)
    return settings


@pytest.fixture(scope="module")
def handlers(own: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Worker]]:
    logs = tmp_path_factory.mktemp("logs")
    workers = [
        Worker(["worker", "handler", service], own, logs / f"{service}.log").start()
        for service in ("organization", "licensing")
    ]
    try:
        for worker in workers:
            worker.wait_for("assigned", timeout_s=60)
        yield workers
    finally:
        for worker in workers:
            worker.stop()


def bounce(infra: LocalInfra) -> None:
    """SIGKILL the broker, as when its machine dies, and start it again after OUTAGE_S."""
    (node,) = infra.kafka.nodes
    sigkill(node)
    time.sleep(OUTAGE_S)
    node.start()


def test_every_command_around_a_broker_restart_is_decided_once_and_rightly(
    infra: LocalInfra, own: Settings, handlers: list[Worker]
) -> None:
    organizations = created(own, CommandPublisher(own), 30)
    licensing = grants_and_changes(organizations, 10)
    grants, changes = licensing[:30], licensing[30:]
    updates = creates_and_updates(organizations, 10)[30:]
    with Flow(
        own, grants + [c for pair in zip(updates, changes, strict=True) for c in pair]
    ) as flow:
        time.sleep(3)
        bounce(infra)
    assert flow.retries > 0, "no publish met the outage"

    assert_decided_rightly(
        own, updates, own.topics.organization_commands, own.topics.organization_events
    )
    assert_decided_rightly(own, licensing, own.topics.license_commands, own.topics.license_events)
    for worker in handlers:
        assert worker.alive(), worker.output()[-3000:]
