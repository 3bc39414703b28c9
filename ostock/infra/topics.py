"""Create O-stock's Kafka topics (docs/architecture.md, "Topics"); the broker never
auto-creates them. Creating them registers every schema of schemas/ in the schema registry too."""

from confluent_kafka import KafkaError, KafkaException

# confluent_kafka.admin re-exports NewTopic without listing it, which mypy --strict flags.
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from ostock.contract import load_schemas
from ostock.kafka.config import admin_config
from ostock.kafka.schema_registry import register
from ostock.settings import Settings

DAY_MS = 24 * 60 * 60 * 1000
# Config overrides by Topics field; the others keep the broker's 7-day retention.
OVERRIDES: dict[str, dict[str, str]] = {
    # Event topics are the system of record: kept forever.
    "organization_events": {"retention.ms": "-1", "retention.bytes": "-1"},
    "license_events": {"retention.ms": "-1", "retention.bytes": "-1"},
    # Dead letters wait for an operator: give them a month.
    "dead_letters": {"retention.ms": str(30 * DAY_MS)},
    # The schema registry: the last record of each fingerprint, kept forever.
    "schemas": {"cleanup.policy": "compact", "retention.ms": "-1", "retention.bytes": "-1"},
}


def ensure_topics(settings: Settings) -> list[str]:
    """Create every topic of `settings.topics` that is missing, register the schemas of
    schemas/; return the names created."""
    timeout = settings.kafka_timeout_s
    wanted = [
        NewTopic(
            name,
            num_partitions=settings.topic_partitions,
            replication_factor=settings.replication_factor,
            config={
                "min.insync.replicas": str(settings.min_insync_replicas),
                **OVERRIDES.get(field, {}),
            },
        )
        for field, name in settings.topics.model_dump().items()
    ]
    admin = AdminClient(admin_config(settings))
    futures = admin.create_topics(wanted, operation_timeout=timeout, request_timeout=timeout)
    created = []
    for name, future in futures.items():
        try:
            future.result(timeout=timeout)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
        else:
            created.append(name)
    register(settings, load_schemas())
    return created
