"""The local infrastructure is the real thing: topics as designed, transactions,
Redis Functions, and data that survives a restart."""

import subprocess
import sys
import time
from pathlib import Path
from uuid import uuid4

import pytest
import redis
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import (  # type: ignore[attr-defined]  # re-exported, no __all__
    AdminClient,
    ConfigResource,
    NewTopic,
    ResourceType,
)

from ostock.infra.local import LocalInfra
from ostock.infra.ports import free_port
from ostock.infra.topics import ensure_topics
from ostock.settings import Settings

pytestmark = pytest.mark.integration


def new_topic(settings: Settings) -> str:
    """A fresh single-partition topic, so that no other test's records are in the way."""
    name = f"test.infra.{uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    admin.create_topics([NewTopic(name, 1, 1)])[name].result(timeout=settings.kafka_timeout_s)
    return name


def read_all(settings: Settings, topic: str) -> list[bytes]:
    """Every committed value of partition 0 of `topic`, from the beginning to the end."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"test-{uuid4().hex[:8]}",
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    values: list[bytes] = []
    deadline = time.monotonic() + 3 * settings.kafka_timeout_s
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            error = message.error()
            if error is not None and error.code() == KafkaError._PARTITION_EOF:
                return values
            assert error is None, error
            value = message.value()
            assert value is not None
            values.append(value)
    finally:
        consumer.close()
    raise TimeoutError(f"no end of {topic} within {3 * settings.kafka_timeout_s}s")


def test_every_topic_exists_with_the_configured_partition_count(settings: Settings) -> None:
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    metadata = admin.list_topics(timeout=settings.kafka_timeout_s)

    for name in settings.topics.model_dump().values():
        assert len(metadata.topics[name].partitions) == settings.topic_partitions, name


def test_event_topics_keep_records_forever_and_others_expire(settings: Settings) -> None:
    topics = settings.topics
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    names = [topics.organization_events, topics.license_events, topics.command_results]
    futures = admin.describe_configs([ConfigResource(ResourceType.TOPIC, name) for name in names])
    retention = {
        resource.name: future.result(timeout=settings.kafka_timeout_s)
        for resource, future in futures.items()
    }

    for events in (topics.organization_events, topics.license_events):
        assert retention[events]["retention.ms"].value == "-1"
        assert retention[events]["retention.bytes"].value == "-1"
    assert int(retention[topics.command_results]["retention.ms"].value) > 0


def test_ensure_topics_again_creates_nothing(settings: Settings) -> None:
    assert ensure_topics(settings) == []


def test_a_read_committed_consumer_sees_committed_records_only(settings: Settings) -> None:
    topic = new_topic(settings)
    producer = Producer(
        {"bootstrap.servers": settings.kafka_bootstrap, "transactional.id": f"test-{topic}"}
    )
    producer.init_transactions(settings.kafka_timeout_s)

    producer.begin_transaction()
    producer.produce(topic, key=b"org-1", value=b"committed")
    producer.commit_transaction(settings.kafka_timeout_s)
    producer.begin_transaction()
    producer.produce(topic, key=b"org-1", value=b"aborted")
    producer.abort_transaction(settings.kafka_timeout_s)

    assert read_all(settings, topic) == [b"committed"]


def test_redis_answers_and_runs_a_loaded_function(settings: Settings) -> None:
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=settings.redis_timeout_s)
    library = f"test_{uuid4().hex[:8]}"
    code = (
        f"#!lua name={library}\n"
        f"redis.register_function('{library}_echo', function(keys, args) return args[1] end)"
    )
    try:
        assert client.ping()
        client.function_load(code)
        assert client.fcall(f"{library}_echo", 0, "hello") == b"hello"
    finally:
        client.function_delete(library)
        client.close()


def test_a_restart_on_the_same_data_folder_keeps_records_and_keys(tmp_path: Path) -> None:
    # Its own infrastructure: restarting the session's would disturb other tests.
    infra = LocalInfra(tmp_path, Settings().cache_dir, free_port(), free_port(), free_port())
    settings = Settings(
        kafka_bootstrap=infra.kafka.bootstrap,
        redis_url=infra.redis.url,
        topic_partitions=1,
        data_dir=tmp_path,
    )
    topic = settings.topics.organization_events
    try:
        infra.up()
        ensure_topics(settings)
        producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
        producer.produce(topic, key=b"org-1", value=b"OrganizationCreated")
        assert producer.flush(settings.kafka_timeout_s) == 0
        with redis.Redis.from_url(settings.redis_url) as client:
            client.set("view:org-1", "v1")

        # Stopped from another process, through the pid files.
        (node,) = infra.kafka.nodes
        ports = [
            f"--kafka-port={node.port}",
            f"--controller-port={node.controller_port}",
            f"--redis-port={infra.redis.port}",
        ]
        cli = [sys.executable, "-c", "from ostock.cli.main import app; app()", "infra"]
        subprocess.run([*cli, "down", f"--data-dir={tmp_path}", *ports], check=True, timeout=120)
        assert not infra.status().running
        infra.up()

        assert read_all(settings, topic) == [b"OrganizationCreated"]
        with redis.Redis.from_url(settings.redis_url) as client:
            assert client.get("view:org-1") == b"v1"
    finally:
        infra.down()
