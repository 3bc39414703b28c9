"""The schema registry on Kafka: a compacted topic (settings.topics.schemas) of every
writer schema ever written, keyed by fingerprint (ostock.contract.registry says how).

Each writer registers the schemas it ships at start-up (`register`), and creating the
topics registers those of schemas/; a reader built before a schema was published finds
it by fingerprint (`KafkaSchemaLookup`, the lookup its Codec asks).
"""

import logging
import threading
import time

from confluent_kafka import OFFSET_BEGINNING, KafkaException, Message, Producer, TopicPartition

from ostock.contract import Codec, SchemaSet
from ostock.contract.registry import fingerprint_of, registry_record, schema_of
from ostock.contract.schemas import Schema
from ostock.kafka.config import producer_config
from ostock.kafka.delivery import Outgoing, deliver
from ostock.kafka.topic_reader import TopicReader
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
    records = (
        Outgoing(
            settings.topics.schemas,
            *registry_record(version),
            [("schema-version", str(version.version).encode())],
        )
        for version in schemas.by_fingerprint.values()
    )
    producer = Producer(producer_config(settings))
    deliver(producer, records, settings.kafka_timeout_s, "schemas", RegistrationError, purge=True)
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
        self._reader: TopicReader | None = None  # its positions: where the next read starts
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
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    def _due(self) -> bool:
        return time.monotonic() - self._read_at >= self._refresh_s

    def _read_new(self) -> None:
        timeout_s = self._settings.kafka_timeout_s
        deadline = time.monotonic() + timeout_s
        reader = self._reader or self._connect()
        if reader is None:
            return
        ends = reader.high_watermarks(reader.assigned(), timeout_s, deadline)
        # Past a partition's end only once its position (a record read, or the end seen
        # there) is: an end-of-partition event short of the watermark does not end it.
        for batch in reader.read(ends, 1, timeout_s, deadline, eof_ends=False):
            for error in batch.errors:
                log.warning("schema registry: %s", error)
            for message in batch.records:
                self._store(message)
        if reader.pending:
            behind = {partition for _, partition in reader.pending}
            log.warning("schema registry: partitions %s not read to their end in time", behind)

    def _connect(self) -> TopicReader | None:
        topic = self._settings.topics.schemas
        reader = TopicReader.opened(self._settings, READER_GROUP)
        partitions = reader.partitions(topic, self._settings.kafka_timeout_s)
        if partitions is None:
            log.warning("schema registry: no topic %s", topic)
            reader.close()
            return None
        reader.assign(TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions)
        self._reader = reader
        return reader

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
