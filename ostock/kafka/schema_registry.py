"""The schema registry on Kafka: a compacted topic (settings.topics.schemas) of every
writer schema ever written, keyed by fingerprint (ostock.contract.registry says how).

Each writer registers the schemas it ships at start-up (`register`), and creating the
topics registers those of schemas/; a reader built before a schema was published finds
it by fingerprint (`KafkaSchemaLookup`, the lookup its Codec asks).
"""

import logging
import threading
import time

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from ostock.contract import Codec, SchemaSet
from ostock.contract.registry import fingerprint_of, registry_record, schema_of
from ostock.contract.schemas import Schema
from ostock.kafka.config import consumer_config, producer_config
from ostock.settings import Settings

log = logging.getLogger(__name__)

#: Least time between two reads of the topic for fingerprints it did not hold: poison
#: with garbage fingerprints costs the broker one read per interval, no more.
REFRESH_S = 5.0
#: The readers' consumer group: named because the client needs one; never joined.
READER_GROUP = "ostock.schema-registry"


class RegistrationError(RuntimeError):
    """The broker did not take every schema in time."""


def register(settings: Settings, schemas: SchemaSet) -> int:
    """Write every version of `schemas` to the registry and wait for the acks; return how
    many. Idempotent: the same schema is the same key and value, compacted to one."""
    failures: list[str] = []

    def delivered(error: KafkaError | None, message: Message) -> None:
        if error is not None:
            failures.append(f"{message.key()!r}: {error}")

    producer = Producer(producer_config(settings))
    for version in schemas.by_fingerprint.values():
        key, value = registry_record(version)
        producer.produce(
            settings.topics.schemas,
            key=key,
            value=value,
            headers=[("schema-version", str(version.version).encode())],
            on_delivery=delivered,
        )
    remaining = producer.flush(settings.kafka_timeout_s)
    if remaining:  # given up: dropped here rather than warned about at exit
        producer.purge()
        producer.flush(0)
    if remaining or failures:
        raise RegistrationError(
            f"{remaining} schemas unconfirmed, {len(failures)} failed: {failures[:3]}"
        )
    return len(schemas.by_fingerprint)


def registry_codec(settings: Settings) -> Codec:
    """The Codec of a process that reads records: it asks the registry for writer
    schemas it does not ship."""
    return Codec(lookup=KafkaSchemaLookup(settings))


class KafkaSchemaLookup:
    """Writer schemas by fingerprint, read from the registry topic: a Codec's lookup.

    The first unknown fingerprint reads the topic from its beginning, later ones read
    what came since, no sooner than `refresh_s` after the last read. Every read ends
    within the Kafka timeout; what it did not reach is read the next time. A broker that
    does not answer makes a lookup find nothing (the record is dead-lettered, never
    dropped).
    Thread-safe; a read blocks the caller, an event loop included, that long at most.
    """

    def __init__(self, settings: Settings, refresh_s: float = REFRESH_S) -> None:
        self._settings = settings
        self._refresh_s = refresh_s
        self._schemas: dict[bytes, Schema] = {}
        self._consumer: Consumer | None = None
        self._positions: dict[int, int] = {}  # by partition: the next offset to read
        self._read_at = -refresh_s
        self._lock = threading.Lock()

    def __call__(self, fingerprint: bytes) -> Schema | None:
        with self._lock:
            if fingerprint not in self._schemas and self._due():
                try:
                    self._read_new()
                except KafkaException as error:
                    log.warning("schema registry unreadable: %s", error)
                finally:
                    # From the end of the read: one slower than refresh_s (a loaded
                    # machine, a slow broker) must not be followed by another at once.
                    self._read_at = time.monotonic()
            return self._schemas.get(fingerprint)

    def close(self) -> None:
        """Close the consumer, if a lookup opened one."""
        with self._lock:
            if self._consumer is not None:
                self._consumer.close()
                self._consumer = None

    def _due(self) -> bool:
        return time.monotonic() - self._read_at >= self._refresh_s

    def _read_new(self) -> None:
        deadline = time.monotonic() + self._settings.kafka_timeout_s
        consumer = self._consumer or self._connect()
        if consumer is None:
            return
        ends = {
            tp.partition: consumer.get_watermark_offsets(tp, timeout=_left(deadline), cached=False)[
                1
            ]
            for tp in consumer.assignment()
        }
        behind = {p for p, end in ends.items() if self._positions.get(p, 0) < end}
        while behind and _left(deadline) > 0:
            message = consumer.poll(_left(deadline))
            if message is None:
                break
            partition, offset = message.partition() or 0, message.offset() or 0
            error = message.error()
            if error is None:
                self._store(message)
                offset += 1
            elif error.code() != KafkaError._PARTITION_EOF:
                log.warning("schema registry: %s", error)
                continue
            self._positions[partition] = offset
            if offset >= ends.get(partition, 0):
                behind.discard(partition)
        if behind:
            log.warning("schema registry: partitions %s not read to their end in time", behind)

    def _connect(self) -> Consumer | None:
        topic = self._settings.topics.schemas
        consumer = Consumer(
            consumer_config(self._settings, READER_GROUP, **{"enable.partition.eof": True})
        )
        found = consumer.list_topics(topic, timeout=self._settings.kafka_timeout_s).topics
        metadata = found.get(topic)
        if metadata is None or metadata.error is not None:
            log.warning("schema registry: no topic %s", topic)
            consumer.close()
            return None
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in metadata.partitions])
        self._consumer = consumer
        return consumer

    def _store(self, message: Message) -> None:
        fingerprint = fingerprint_of(message.key())
        value = message.value()
        if fingerprint is None:
            log.warning("schema registry: a record keyed %r is no fingerprint", message.key())
        elif value is None:  # a tombstone
            self._schemas.pop(fingerprint, None)
        elif (schema := schema_of(value)) is not None:
            self._schemas[fingerprint] = schema
        else:
            log.warning("schema registry: the record of %s is no schema", fingerprint.hex())


def _left(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.0)
