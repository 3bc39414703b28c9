"""Publishing commands to Kafka from a synchronous process (the CLI, the saga)."""

from collections.abc import Iterable

from confluent_kafka import Producer

from ostock.commands import command_topic
from ostock.contract import Codec
from ostock.contract.records import Command
from ostock.kafka.config import producer_config
from ostock.kafka.delivery import Outgoing, deliver
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
        records = (
            Outgoing(
                command_topic(command, self.settings.topics),
                command.meta.organization_id.encode(),
                self.codec.write(command),
                [("correlation-id", command.meta.correlation_id.encode())],
            )
            for command in commands
        )
        timeout_s = self.settings.kafka_timeout_s
        return deliver(self.producer, records, timeout_s, "commands", PublishError)
