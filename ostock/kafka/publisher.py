"""Publishing commands to Kafka from a synchronous process (the CLI, the saga)."""

from collections.abc import Iterable

from confluent_kafka import KafkaError, Message, Producer

from ostock.commands import command_topic
from ostock.contract import Codec
from ostock.contract.records import Command
from ostock.kafka.config import producer_config
from ostock.kafka.schema_registry import register
from ostock.settings import Settings


class PublishError(RuntimeError):
    """The broker did not take every command in time."""


class CommandPublisher:
    """Encodes commands and produces them keyed by organization id; waits for the acks.

    It registers the schemas it writes with first (ostock.kafka.schema_registry), so readers
    built before them can read its commands; it raises RegistrationError if it cannot.
    """

    def __init__(self, settings: Settings, codec: Codec | None = None) -> None:
        self.settings = settings
        self.codec = codec or Codec()
        register(settings, self.codec.schemas)
        self.producer = Producer(producer_config(settings))

    def publish(self, commands: Iterable[Command]) -> int:
        """Send every command and wait, bounded, until the broker has them all."""
        failures: list[str] = []

        def delivered(error: KafkaError | None, message: Message) -> None:
            if error is not None:
                failures.append(f"{message.key()!r}: {error}")

        count = 0
        for command in commands:
            self.producer.produce(
                command_topic(command, self.settings.topics),
                key=command.meta.organization_id.encode(),
                value=self.codec.write(command),
                headers=[("correlation-id", command.meta.correlation_id.encode())],
                on_delivery=delivered,
            )
            self.producer.poll(0)
            count += 1
        remaining = self.producer.flush(self.settings.kafka_timeout_s)
        if remaining or failures:
            raise PublishError(
                f"{remaining} commands unconfirmed, {len(failures)} failed: {failures[:3]}"
            )
        return count
