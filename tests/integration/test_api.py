"""The real API against the real broker and Redis: a command lands on its topic, keyed
and partitioned as every other client (Java, aiokafka) would place it; views come back
from Redis as stored."""

import time
from typing import cast
from uuid import uuid4

import httpx
import orjson
import pytest
from aiokafka.partitioner import murmur2
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition
from redis.asyncio import Redis

from ostock.contract import Codec
from ostock.kafka.config import Headers, header
from ostock.settings import Settings
from ostock.views.keys import Keys

pytestmark = pytest.mark.integration


def find(settings: Settings, topic: str, key: bytes) -> Message:
    """The first record of `topic` with `key`, read from the beginning of every partition."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"test-{uuid4().hex[:8]}",
            "enable.partition.eof": True,
        }
    )
    partitions = range(settings.topic_partitions)
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    deadline = time.monotonic() + 3 * settings.kafka_timeout_s
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            error = message.error()
            if error is not None:
                assert error.code() == KafkaError._PARTITION_EOF, error
                continue
            if message.key() == key:
                return message
    finally:
        consumer.close()
    raise AssertionError(f"no record with key {key!r} on {topic}")


async def test_a_created_organization_is_published_where_its_events_will_be(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    assert (await client.get("/health/ready")).json() == {"kafka": "up", "redis": "up"}
    headers = {"X-Correlation-ID": "it-1", "Idempotency-Key": str(uuid4())}
    response = await client.post("/v1/organizations", json={"name": "Acme"}, headers=headers)
    assert response.status_code == 202, response.text
    organization_id = response.json()["organization_id"]

    key = organization_id.encode()
    message = find(settings, settings.topics.organization_commands, key)

    assert message.partition() == (murmur2(key) & 0x7FFFFFFF) % settings.topic_partitions
    headers_sent = cast(Headers, message.headers())  # a list of pairs when produced so
    assert header(headers_sent, "correlation-id") == "it-1"
    assert (header(headers_sent, "traceparent") or "").startswith("00-")
    record = Codec().decode(message.value())
    assert record.name == "ostock.organization.CreateOrganization"
    assert record.fields["meta"]["command_id"] == headers["Idempotency-Key"]


async def test_views_are_read_from_redis_under_the_live_prefix(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    keys = Keys(settings.redis_prefix)
    active, deleted = str(uuid4()), str(uuid4())
    body = orjson.dumps({"organization_id": active, "status": "active", "version": 1})
    async with Redis.from_url(settings.redis_url) as redis:
        await redis.hset(keys.organization(active), mapping={"version": 1, "body": body})
        tombstone = orjson.dumps({"organization_id": deleted, "status": "deleted"})
        await redis.hset(keys.organization(deleted), mapping={"version": 2, "body": tombstone})

    found = await client.get(f"/v1/organizations/{active}")
    assert found.status_code == 200 and found.content == body
    assert (await client.get(f"/v1/organizations/{deleted}")).status_code == 404
    assert (await client.get(f"/v1/commands/{uuid4()}")).status_code == 404
