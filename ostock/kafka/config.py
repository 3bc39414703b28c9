"""Kafka client configuration shared by every process: one place for the settings
that make clients agree (partitioner, isolation) and bound every call."""

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka.partitioner import murmur2
from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from ostock.credentials import kafka_password
from ostock.kafka.statistics import record_statistics
from ostock.settings import Settings

SCRAM_MECHANISM = "SCRAM-SHA-512"

#: Kafka record headers as confluent-kafka gives and takes them.
Headers = list[tuple[str, str | bytes | None]]
#: Record headers as either Kafka client gives them (aiokafka's may be a mapping).
AnyHeaders = Sequence[tuple[str, str | bytes | None]] | Mapping[str, str | bytes | None] | None
#: Every producer waits for all in-sync replicas (min.insync.replicas of them at least):
#: a record acknowledged by a leader alone would be lost with that leader.
ACKS_ALL = -1
#: Produce to the partition the producer's partitioner picks from the key.
ANY_PARTITION = -1
#: How long a consumer group waits for a member gone silent (a crash, a pause) before
#: its partitions go to the others: the time a surviving copy takes a dead one's over.
SESSION_TIMEOUT_S = 10.0
#: librdkafka logs nothing to an operator's terminal: failures come back as errors.
QUIET = {"log_level": 0}
#: Where every client's librdkafka logs go, so they come out as the process's log lines
#: (ostock.logs); librdkafka would write its own lines to standard error. They are
#: handed over when the client is polled.
LIBRDKAFKA_LOG = logging.getLogger("librdkafka")


class PartitioningError(RuntimeError):
    """Topics that must be partitioned alike are not."""


def partition_for(key: str, partitions: int) -> int:
    """The partition of a record keyed `key` among `partitions`: murmur2 as Java's and
    aiokafka's default partitioners and librdkafka's murmur2_random choose it."""
    hashed: int = murmur2(key.encode())
    return (hashed & 0x7FFFFFFF) % partitions


def co_partitioned(consumer: Consumer, topics: list[str], timeout_s: float) -> int:
    """The partition count that all `topics` share, or PartitioningError: records keyed
    alike must land on the same partition number in each."""
    metadata = consumer.list_topics(timeout=timeout_s).topics
    counts = {t: len(metadata[t].partitions) if t in metadata else 0 for t in topics}
    if len(set(counts.values())) != 1 or 0 in counts.values():
        raise PartitioningError(f"topics must exist with the same partition count: {counts}")
    return counts[topics[0]]


def next_offsets(messages: Sequence[Message]) -> list[TopicPartition]:
    """The offsets to commit once `messages` are processed: each partition's last plus one."""
    last: dict[tuple[str, int], int] = {}
    for message in messages:
        last[(message.topic() or "", message.partition() or 0)] = message.offset() or 0
    return [
        TopicPartition(topic, partition, offset + 1) for (topic, partition), offset in last.items()
    ]


def producer_config(settings: Settings, **extra: Any) -> dict[str, Any]:
    """A confluent-kafka producer that partitions like Java and aiokafka clients do."""
    timeout_ms = int(settings.kafka_timeout_s * 1000)
    return {
        "bootstrap.servers": settings.kafka_bootstrap,
        # murmur2 is the Java and aiokafka default: commands and events keyed by
        # organization_id must land on the same partition number whoever writes them.
        "partitioner": "murmur2_random",
        "enable.idempotence": True,
        "acks": ACKS_ALL,
        "linger.ms": 2,
        "message.timeout.ms": max(timeout_ms, 1000),
        "socket.timeout.ms": max(timeout_ms, 1000),
        "logger": LIBRDKAFKA_LOG,
        **security_config(settings),
        **extra,
    }


def transactional_config(settings: Settings, transactional_id: str) -> dict[str, Any]:
    """The producer of a command handler's transactions (ostock.eventstore)."""
    return producer_config(
        settings,
        **{
            "transactional.id": transactional_id,
            "transaction.timeout.ms": 30000,
            # Records wait to share a request instead of waking the client's broker
            # thread per command; a commit sends what still waits at once.
            "linger.ms": 5,
            # The handler begins a transaction as soon as the last one committed; the
            # broker refuses it (CONCURRENT_TRANSACTIONS) until its markers are written,
            # and librdkafka's default 100 ms retry pause would hold up that batch.
            "retry.backoff.ms": 1,
            **statistics_config(settings),
        },
    )


def consumer_config(settings: Settings, group_id: str, **extra: Any) -> dict[str, Any]:
    """A confluent-kafka consumer that sees only committed transactions."""
    return {
        "bootstrap.servers": settings.kafka_bootstrap,
        "group.id": group_id,
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "socket.timeout.ms": max(int(settings.kafka_timeout_s * 1000), 1000),
        "logger": LIBRDKAFKA_LOG,
        **security_config(settings),
        **extra,
    }


def statistics_config(settings: Settings) -> dict[str, Any]:
    """librdkafka's statistics every `kafka_statistics_s`, as metrics (ostock.kafka.statistics).

    Only for a client polled all along (the handlers' consumer and producer, the API's
    producer): librdkafka queues each report for the next poll, so an idle client would
    pile them up.
    """
    interval_ms = int(settings.kafka_statistics_s * 1000)
    if not interval_ms:
        return {}
    return {"statistics.interval.ms": interval_ms, "stats_cb": record_statistics}


def admin_config(settings: Settings) -> dict[str, Any]:
    """A confluent-kafka AdminClient of this process's principal."""
    return {
        "bootstrap.servers": settings.kafka_bootstrap,
        "logger": LIBRDKAFKA_LOG,
        **security_config(settings),
    }


def security_config(settings: Settings) -> dict[str, str]:
    """The login of this process's principal under sasl_scram; nothing under plaintext."""
    if settings.kafka_security == "plaintext":
        return {}
    return scram_login(settings.kafka_principal, kafka_password(settings))


def scram_login(username: str, password: str) -> dict[str, str]:
    """Client options that log in as `username` with SCRAM-SHA-512 (no TLS: local only)."""
    return {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": SCRAM_MECHANISM,
        "sasl.username": username,
        "sasl.password": password,
    }


def is_fatal(error: KafkaError) -> bool:
    """Whether the client that gave `error` is done for and must be replaced. A consumer
    whose static membership was fenced reports code _FATAL with fatal() False."""
    return bool(error.fatal()) or error.code() == KafkaError._FATAL


def header(headers: AnyHeaders, name: str) -> str | None:
    """The first value of a header as text, or None."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers or ()
    for key, value in pairs:
        if key == name and value is not None:
            return value.decode() if isinstance(value, bytes) else value
    return None
