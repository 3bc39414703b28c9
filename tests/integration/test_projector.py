"""The real projectors as processes (`python -m streams ...`) on the real Kafka and Redis:
records produced with confluent-kafka in, views out of Redis, poison to the dead letters.

Each scenario has topics and a key prefix of its own, so consumer groups of its own:
nothing here shares a partition or a view with the rest of the session. Records that
must be seen in order share a Kafka key, hence a partition; a last "marker" record on
that partition tells when everything before it was applied.
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from uuid import uuid4

import orjson
import pytest
import redis
from confluent_kafka import Consumer, Message, Producer, TopicPartition

from ostock.contract import Codec
from ostock.infra.ports import free_port
from ostock.infra.redis import RedisServer
from ostock.kafka.config import consumer_config, header, producer_config
from ostock.settings import Settings
from ostock.views.client import names_cluster
from ostock.views.keys import Keys
from ostock.views.projection import iso
from tests.projectors import WAIT_S, KafkaRecord, Projector, fresh, produce

pytestmark = [pytest.mark.integration, pytest.mark.both_redis]

CODEC = Codec()
DETAILS = {"name": "Acme", "contact_name": "Ada", "contact_email": "", "contact_phone": ""}


@dataclass
class Views:
    """The scenario's read models, read straight from Redis."""

    store: redis.Redis | redis.RedisCluster
    keys: Keys

    def organization(self, organization_id: str, version: int = 1) -> Any:
        """The organization view once it has reached `version`, else None."""
        key = self.keys.organization(organization_id)
        stored, body = self.store.hmget(key, ["version", "body"])
        if stored is None or body is None or int(stored) < version:
            return None
        return orjson.loads(body)

    def command(self, command_id: str) -> Any:
        body = self.store.hget(self.keys.command(command_id), "body")
        return None if body is None else orjson.loads(body)


@pytest.fixture(scope="module")
def own_settings(redis_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return fresh(redis_settings, tmp_path_factory.mktemp("projectors"))


@pytest.fixture(scope="module")
def projectors(
    own_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Projector]]:
    logs = tmp_path_factory.mktemp("projector-logs")
    running = {
        name: Projector(name, own_settings, logs / f"{name}.log").start()
        for name in ("organization-projector", "command-status-projector")
    }
    yield running
    for projector in running.values():
        projector.stop()


@pytest.fixture
def views(own_settings: Settings) -> Iterator[Views]:
    url = own_settings.redis_url
    client = (
        redis.RedisCluster.from_url(url)
        if names_cluster(own_settings)
        else redis.Redis.from_url(url)
    )
    yield Views(client, Keys(own_settings.redis_prefix))
    client.close()


def event(
    kind: str, organization_id: str, version: int, key: str | None = None, **details: str
) -> KafkaRecord:
    """An organization event, keyed by its organization unless `key` says otherwise."""
    meta = {
        "event_id": str(uuid4()),
        "aggregate_id": organization_id,
        "organization_id": organization_id,
        "version": version,
        "occurred_at": datetime(2024, 5, 1, tzinfo=UTC) + timedelta(minutes=version),
        "command_id": str(uuid4()),
        "correlation_id": "test",
        "issued_by": "test",
    }
    value = CODEC.encode(f"ostock.organization.{kind}", {"meta": meta, **details})
    return (key or organization_id).encode(), value


def marker(key: str) -> tuple[str, KafkaRecord]:
    """A new organization's creation on the partition of `key`: its id and its record."""
    organization_id = str(uuid4())
    return organization_id, event("OrganizationCreated", organization_id, 1, key, **DETAILS)


def test_events_become_views_and_a_replayed_event_changes_nothing(
    projectors: dict[str, Projector], own_settings: Settings, views: Views
) -> None:
    acme, globex = str(uuid4()), str(uuid4())
    created = event("OrganizationCreated", acme, 1, **DETAILS)
    acme_marker, acme_marker_record = marker(acme)
    globex_marker, globex_marker_record = marker(globex)
    produce(
        own_settings,
        own_settings.topics.organization_events,
        [
            created,
            event("OrganizationUpdated", acme, 2, **DETAILS | {"name": "Acme Ltd"}),
            event("OrganizationCreated", globex, 1, **DETAILS | {"name": "Globex"}),
            event("OrganizationDeleted", globex, 2),
            # Redelivered old events: the versions already applied make them no-ops.
            created,
            event("OrganizationCreated", globex, 1, **DETAILS | {"name": "Globex again"}),
            acme_marker_record,
            globex_marker_record,
        ],
    )
    projector = projectors["organization-projector"]

    projector.wait_for("Acme's marker", lambda: views.organization(acme_marker))
    projector.wait_for("Globex's marker", lambda: views.organization(globex_marker))

    acme_view = views.organization(acme)
    assert (acme_view["name"], acme_view["version"]) == ("Acme Ltd", 2)
    assert acme_view["created_at"] == "2024-05-01T00:01:00.000Z"  # kept from version 1
    assert acme_view["updated_at"] == "2024-05-01T00:02:00.000Z"
    globex_view = views.organization(globex)
    assert (globex_view["status"], globex_view["version"]) == ("deleted", 2)
    assert (globex_view["organization_id"], globex_view["name"]) == (globex, None)


def test_events_of_an_aborted_transaction_are_never_projected(
    projectors: dict[str, Projector], own_settings: Settings, views: Views
) -> None:
    aborted = str(uuid4())
    producer = Producer(producer_config(own_settings, **{"transactional.id": f"test-{aborted}"}))
    producer.init_transactions(10)
    producer.begin_transaction()
    key, value = event("OrganizationCreated", aborted, 1, **DETAILS)
    producer.produce(own_settings.topics.organization_events, key=key, value=value)
    producer.flush(10)
    producer.abort_transaction(10)
    after, after_record = marker(aborted)
    produce(own_settings, own_settings.topics.organization_events, [after_record])

    projector = projectors["organization-projector"]
    projector.wait_for("the view after the abort", lambda: views.organization(after))

    assert views.organization(aborted) is None


def test_offsets_are_committed_past_an_aborted_transaction(
    projectors: dict[str, Projector], own_settings: Settings, views: Views
) -> None:
    """The records a read_committed consumer never sees (an aborted transaction's, the
    markers) leave gaps in the offsets it acks; the commit must step over them, or the
    group would stay behind them for good and a restart would read everything again."""
    key = str(uuid4())
    producer = Producer(producer_config(own_settings, **{"transactional.id": f"test-{key}"}))
    producer.init_transactions(10)
    organizations = [str(uuid4()) for _ in range(3)]
    for organization_id, commit in zip(organizations, (True, False, True), strict=True):
        producer.begin_transaction()
        for version in (1, 2):
            record_key, value = event(
                "OrganizationCreated" if version == 1 else "OrganizationUpdated",
                organization_id,
                version,
                key,
                **DETAILS,
            )
            producer.produce(own_settings.topics.organization_events, key=record_key, value=value)
        producer.flush(10)
        if commit:
            producer.commit_transaction(10)
        else:
            producer.abort_transaction(10)
    projector = projectors["organization-projector"]
    projector.wait_for("the last view", lambda: views.organization(organizations[2], 2))
    topic = own_settings.topics.organization_events
    partition, offset = last_offset(own_settings, topic, key.encode())

    group = f"{own_settings.redis_prefix}.organization-projector"
    projector.wait_for(
        "the commit past the aborted transaction",
        lambda: committed(own_settings, group, topic, partition) > offset,
    )
    assert views.organization(organizations[1]) is None


def last_offset(settings: Settings, topic: str, key: bytes) -> tuple[int, int]:
    """The partition and offset of the last committed record with `key` on `topic`."""
    consumer = Consumer(
        consumer_config(settings, f"test-{uuid4()}", **{"enable.partition.eof": True})
    )
    consumer.subscribe([topic])
    found: Message | None = None
    deadline = time.monotonic() + WAIT_S
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error() is None and message.key() == key:
                found = message
            elif found is not None and message.partition() == found.partition():
                return cast(int, found.partition()), cast(int, found.offset())  # its end
    finally:
        consumer.close()
    raise AssertionError(f"no record with key {key!r} on {topic} in {WAIT_S}s")


def committed(settings: Settings, group: str, topic: str, partition: int) -> int:
    """The offset `group` has committed on a partition (-1001 if none)."""
    consumer = Consumer(consumer_config(settings, group))
    try:
        (position,) = consumer.committed([TopicPartition(topic, partition)], timeout=10)
    finally:
        consumer.close()
    return int(position.offset)


def test_a_poison_record_is_dead_lettered_and_the_stream_goes_on(
    projectors: dict[str, Projector], own_settings: Settings, views: Views
) -> None:
    poison_key = str(uuid4())
    after, after_record = marker(poison_key)
    topic = own_settings.topics.organization_events
    poison, _ = produce(own_settings, topic, [(poison_key.encode(), b"not avro"), after_record])

    projectors["organization-projector"].wait_for(
        "the next view", lambda: views.organization(after)
    )
    letter = first_with_key(own_settings, own_settings.topics.dead_letters, poison_key.encode())

    assert letter.value() == b"not avro"
    headers = letter.headers()
    assert header(headers, "dlq-reason") == "bad-framing"
    assert "not an Avro single-object encoded record" in str(header(headers, "dlq-error"))
    assert header(headers, "dlq-source-topic") == topic
    assert header(headers, "dlq-source-partition") == str(poison.partition())
    assert header(headers, "dlq-source-offset") == str(poison.offset())
    consumer = f"{own_settings.redis_prefix}.organization-projector"
    assert header(headers, "dlq-consumer") == consumer
    failed_at = datetime.fromisoformat(str(header(headers, "dlq-failed-at")))
    assert datetime.now(UTC) - timedelta(minutes=5) < failed_at <= datetime.now(UTC)
    assert header(headers, "correlation-id") == "test"  # the original headers are kept


def first_with_key(settings: Settings, topic: str, key: bytes) -> Message:
    consumer = Consumer(consumer_config(settings, f"test-{uuid4()}"))
    consumer.subscribe([topic])
    deadline = time.monotonic() + WAIT_S
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None and message.key() == key:
                return message
    finally:
        consumer.close()
    raise AssertionError(f"no record with key {key!r} on {topic} in {WAIT_S}s")


# Statuses expire a TTL after their decision: a fixed time, but not one already expired.
DECIDED_AT = datetime.now(UTC).replace(microsecond=0)


def command(command_id: str, organization_id: str) -> KafkaRecord:
    meta = {
        "command_id": command_id,
        "aggregate_id": organization_id,
        "organization_id": organization_id,
        "expected_version": None,
        "issued_at": datetime.now(UTC),
        "issued_by": "test",
        "correlation_id": "test",
    }
    fields = {"meta": meta, **DETAILS}
    return organization_id.encode(), CODEC.encode("ostock.organization.CreateOrganization", fields)


def result(command_id: str, organization_id: str, status: str, **outcome: Any) -> KafkaRecord:
    fields = {
        "command_id": command_id,
        "status": status,
        "command_type": "ostock.organization.CreateOrganization",
        "aggregate_id": organization_id,
        "organization_id": organization_id,
        "version": None,
        "error_code": None,
        "error_message": None,
        "decided_at": DECIDED_AT,
        "correlation_id": "test",
    }
    return command_id.encode(), CODEC.encode("ostock.CommandResult", fields | outcome)


def test_a_command_is_pending_until_its_result_decides_it(
    projectors: dict[str, Projector], own_settings: Settings, views: Views
) -> None:
    topics, projector = own_settings.topics, projectors["command-status-projector"]
    organization_id, first, second = str(uuid4()), str(uuid4()), str(uuid4())

    produce(own_settings, topics.organization_commands, [command(first, organization_id)])
    pending = projector.wait_for("pending", lambda: views.command(first))
    assert (pending["status"], pending["command_type"], pending["version"]) == (
        "pending",
        "ostock.organization.CreateOrganization",
        None,
    )

    produce(
        own_settings,
        topics.command_results,
        [result(first, organization_id, "accepted", version=1)],
    )
    projector.wait_for("accepted", lambda: views.command(first)["status"] == "accepted")
    assert views.command(first) == {
        "command_id": first,
        "status": "accepted",
        "command_type": "ostock.organization.CreateOrganization",
        "aggregate_id": organization_id,
        "organization_id": organization_id,
        "version": 1,
        "error_code": None,
        "error_message": None,
        "decided_at": iso(DECIDED_AT),
    }

    # A result may come before its command (two topics, no order between them).
    rejection = {"error_code": "invalid-field", "error_message": "name is blank"}
    produce(
        own_settings,
        topics.command_results,
        [result(second, organization_id, "rejected", **rejection)],
    )
    projector.wait_for("rejected", lambda: views.command(second))
    last = str(uuid4())
    produce(
        own_settings,
        topics.organization_commands,
        [command(c, organization_id) for c in (second, first, last)],
    )
    projector.wait_for("the last command", lambda: views.command(last))

    assert views.command(second)["status"] == "rejected"
    assert views.command(second)["error_code"] == "invalid-field"
    assert views.command(first)["status"] == "accepted"


def test_events_seen_while_redis_is_down_are_applied_when_it_is_back(
    settings: Settings, tmp_path: Path
) -> None:
    """Even across a restart of the projector in the middle of the outage."""
    server = RedisServer(tmp_path / "redis", free_port())
    server.start()
    own = fresh(settings, tmp_path / "data", redis_url=server.url, redis_timeout_s=0.5)
    views = Views(redis.Redis.from_url(own.redis_url), Keys(own.redis_prefix))
    topic = own.topics.organization_events
    first = Projector("organization-projector", own, tmp_path / "first.log").start()
    second = Projector("organization-projector", own, tmp_path / "second.log")
    acme, globex = str(uuid4()), str(uuid4())
    try:
        produce(own, topic, [event("OrganizationCreated", acme, 1, **DETAILS)])
        first.wait_for("Acme", lambda: views.organization(acme))

        server.stop()
        produce(
            own,
            topic,
            [
                event("OrganizationUpdated", acme, 2, **DETAILS | {"name": "Acme Ltd"}),
                event("OrganizationCreated", globex, 1, **DETAILS | {"name": "Globex"}),
            ],
        )
        first.wait_for("a retry", lambda: "retrying" in first.output())
        first.stop()  # in the middle of retrying: the batch must not be committed
        server.start()
        second.start()

        second.wait_for("Acme v2", lambda: views.organization(acme, 2))
        second.wait_for("Globex", lambda: views.organization(globex))
        assert views.organization(acme)["name"] == "Acme Ltd"
    finally:
        for projector in (first, second):
            if projector.process is not None and projector.process.poll() is None:
                projector.stop()
        views.store.close()
        server.stop()
