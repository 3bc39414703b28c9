"""The persistence module: select it with PERSISTENCE_MODULE=ostock.eventstore.factory:KafkaFactory.

Environment (the application's env): OSTOCK_SETTINGS, the one Settings as JSON
(ostock.settings.settings_json), from which every Kafka client option comes
(ostock.kafka.config); KAFKA_EVENTS_TOPIC; KAFKA_TRANSACTIONAL_ID (stable per writer instance:
a restarted writer fences its predecessor and aborts its open transaction at once).
"""

from typing import Any

from confluent_kafka import Producer
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    ProcessRecorder,
    TrackingRecorder,
)

from ostock.eventstore.log import KafkaEventLog
from ostock.eventstore.recorder import KafkaAggregateRecorder
from ostock.eventstore.transactions import Transactions
from ostock.kafka.config import consumer_config, transactional_config
from ostock.settings import Settings

SETTINGS = "OSTOCK_SETTINGS"
EVENTS_TOPIC = "KAFKA_EVENTS_TOPIC"
TRANSACTIONAL_ID = "KAFKA_TRANSACTIONAL_ID"


class KafkaFactory(InfrastructureFactory[TrackingRecorder]):
    """Builds one transactional producer and one KafkaEventLog per application."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        settings = Settings.model_validate_json(self.env.get(SETTINGS) or "{}")
        transactional_id = self.env.get(TRANSACTIONAL_ID) or f"ostock.{self.env.name}"
        timeout_s = settings.kafka_timeout_s

        def new_producer() -> Producer:
            producer = Producer(transactional_config(settings, transactional_id))
            producer.init_transactions(max(timeout_s * 6, 30.0))
            return producer

        self.log = KafkaEventLog(
            Transactions(new_producer, timeout_s),
            topic=self.env.get(EVENTS_TOPIC) or "ostock.events",
            consumer_config=consumer_config(settings, f"{transactional_id}.loader"),
            timeout_s=timeout_s,
        )

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        return KafkaAggregateRecorder(self.log)

    def application_recorder(self) -> ApplicationRecorder:
        raise NotImplementedError(
            "Kafka has no application-wide sequence (offsets are per partition): "
            "use aggregate_recorder(); consumers track Kafka offsets instead"
        )

    def tracking_recorder(
        self, tracking_recorder_class: type[TrackingRecorder] | None = None
    ) -> TrackingRecorder:
        raise NotImplementedError(
            "tracking is the consumer offset, committed inside the Kafka transaction"
        )

    def process_recorder(self) -> ProcessRecorder:
        raise NotImplementedError(
            "tracking is the consumer offset, committed inside the Kafka transaction"
        )

    def close(self) -> None:
        self.log.transactions.producer.flush(self.log.timeout_s)
