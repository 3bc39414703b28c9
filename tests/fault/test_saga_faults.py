"""The cascade-delete saga alone, on topics, a key prefix and a Redis of its own, fed
events produced here: poison is dead-lettered, and a deletion seen while Redis or the
command topic is unavailable is carried out once it is back, never skipped, and its
memory is stored only after its commands are on Kafka."""

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import redis
from confluent_kafka import Consumer, Message, Producer
from confluent_kafka.admin import AdminClient

from ostock.contract import Codec
from ostock.infra.redis import RedisServer
from ostock.infra.topics import ensure_topics
from ostock.kafka.config import consumer_config, header, producer_config
from ostock.sagas.cascade_delete import OrganizationMemory, cascade_command_id
from ostock.settings import Settings, settings_env
from ostock.views.keys import Keys
from streams.saga_memory import memory_of
from tests.isolated import isolated

pytestmark = pytest.mark.integration

WAIT_S = 60.0
CODEC = Codec()
LICENSE = {"product_name": "Office", "license_type": "user", "description": "", "comment": ""}


class Saga:
    """`python -m streams cascade-delete-saga` on the given settings' topics."""

    def __init__(self, settings: Settings, log: Path) -> None:
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streams", "cascade-delete-saga"],
                env=settings_env(settings),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.log = log

    def wait_for(self, what: str, found: Callable[[], Any]) -> Any:
        deadline = time.monotonic() + WAIT_S
        while not (result := found()):
            assert self.process.poll() is None, f"saga exited: {self.output()}"
            assert time.monotonic() < deadline, f"no {what} in {WAIT_S}s: {self.output()}"
            time.sleep(0.1)
        return result

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def event(kind: str, organization_id: str, aggregate_id: str, **fields: str) -> bytes:
    meta = {
        "event_id": str(uuid4()),
        "aggregate_id": aggregate_id,
        "organization_id": organization_id,
        "version": 1,
        "occurred_at": datetime.now(UTC),
        "command_id": str(uuid4()),
        "correlation_id": "deletion-correlation",
        "issued_by": "test",
    }
    return CODEC.encode(kind, {"meta": meta, **fields})


def produce(settings: Settings, topic: str, key: str, values: list[bytes]) -> None:
    producer = Producer(producer_config(settings))
    for value in values:
        producer.produce(topic, key=key.encode(), value=value)
    assert producer.flush(10) == 0


def keyed(
    settings: Settings, topic: str, key: str, done: Callable[[list[Message]], bool]
) -> list[Message]:
    """The records of `topic` with this key, once `done` holds for them."""
    consumer = Consumer(consumer_config(settings, f"test-{uuid4()}"))
    consumer.subscribe([topic])
    found: list[Message] = []
    deadline = time.monotonic() + WAIT_S
    try:
        while not done(found):
            assert time.monotonic() < deadline, f"{topic}: {len(found)} records in {WAIT_S}s"
            message = consumer.poll(0.5)
            if message is not None and message.error() is None and message.key() == key.encode():
                found.append(message)
    finally:
        consumer.close()
    return found


@dataclass
class World:
    """The saga's own settings, and its Redis, readable and stoppable."""

    settings: Settings
    server: RedisServer
    store: redis.Redis
    logs: Path

    def memory(self, organization_id: str) -> OrganizationMemory:
        key = Keys(self.settings.redis_prefix).saga(organization_id)
        return memory_of(self.store.hgetall(key))

    def saga(self, name: str) -> Saga:
        return Saga(self.settings, self.logs / f"{name}.log")


@pytest.fixture
def world(settings: Settings, tmp_path: Path) -> Iterator[World]:
    timeouts = {"redis_timeout_s": 0.5, "kafka_timeout_s": 2.0}
    with isolated(settings, tmp_path, "saga", **timeouts) as (own, server):
        store = redis.Redis.from_url(own.redis_url)
        yield World(own, server, store, tmp_path)
        store.close()


def licenses_remembered(
    world: World, saga: Saga, organization_id: str, count: int
) -> tuple[list[str], bytes]:
    """Licenses created for the organization, once the saga remembers them; and the
    organization's deletion event, not produced yet."""
    own = world.settings
    licenses = sorted(str(uuid4()) for _ in range(count))
    created = [
        event("ostock.license.LicenseCreated", organization_id, lic, **LICENSE) for lic in licenses
    ]
    produce(own, own.topics.license_events, organization_id, created)
    saga.wait_for(
        "the licenses remembered",
        lambda: world.memory(organization_id).live_licenses == set(licenses),
    )
    deletion = event("ostock.organization.OrganizationDeleted", organization_id, organization_id)
    return licenses, deletion


def assert_deleted_once(
    world: World, organization_id: str, licenses: list[str], deletion: bytes
) -> None:
    """One DeleteLicense per license, under its cascade command id, with the deletion's
    correlation id; and the deletion remembered."""
    own = world.settings
    deletion_id = CODEC.decode(deletion).fields["meta"]["event_id"]
    expected = {cascade_command_id(deletion_id, lic) for lic in licenses}

    def ids(messages: list[Message]) -> set[str]:
        return {CODEC.decode(m.value()).fields["meta"]["command_id"] for m in messages}

    # A send retried after a timeout may be delivered twice, under the same command id.
    commands = keyed(
        own, own.topics.license_commands, organization_id, lambda ms: ids(ms) >= expected
    )
    assert ids(commands) == expected
    assert {CODEC.decode(m.value()).name for m in commands} == {"ostock.license.DeleteLicense"}
    assert {header(m.headers(), "correlation-id") for m in commands} == {"deletion-correlation"}
    assert world.memory(organization_id).deleted_by == deletion_id


def test_poison_is_dead_lettered_and_a_deletion_during_a_redis_outage_is_done_after(
    world: World,
) -> None:
    own = world.settings
    organization_id = str(uuid4())
    first, second = world.saga("first"), None
    try:
        produce(own, own.topics.organization_events, organization_id, [b"not avro"])
        licenses, deletion = licenses_remembered(world, first, organization_id, 2)
        world.server.stop()
        produce(own, own.topics.organization_events, organization_id, [deletion])
        first.wait_for("a retry", lambda: "loading memory failed" in first.output())
        first.stop()  # in the middle of retrying: nothing decided, nothing acked
        world.server.start()
        second = world.saga("second")
        second.wait_for("the deletion", lambda: world.memory(organization_id).deleted_by)

        assert_deleted_once(world, organization_id, licenses, deletion)
        [letter] = keyed(own, own.topics.dead_letters, organization_id, bool)
        assert header(letter.headers(), "dlq-consumer") == f"{own.redis_prefix}.cascade-delete-saga"
    finally:
        for saga in (first, second):
            if saga is not None:
                saga.stop()


def test_commands_that_cannot_be_sent_are_retried_and_remembered_only_once_sent(
    world: World,
) -> None:
    own = world.settings
    organization_id = str(uuid4())
    saga = world.saga("saga")
    try:
        licenses, deletion = licenses_remembered(world, saga, organization_id, 2)
        # The command topic gone (the broker creates no topic): no send can succeed.
        admin = AdminClient({"bootstrap.servers": own.kafka_bootstrap})
        admin.delete_topics([own.topics.license_commands])[own.topics.license_commands].result(10)
        produce(own, own.topics.organization_events, organization_id, [deletion])
        saga.wait_for("a retry", lambda: "sending 2 failed" in saga.output())
        assert world.memory(organization_id).deleted_by is None  # not before the acks

        ensure_topics(own)
        saga.wait_for("the deletion", lambda: world.memory(organization_id).deleted_by)
        assert_deleted_once(world, organization_id, licenses, deletion)
    finally:
        saga.stop()
