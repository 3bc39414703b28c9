"""How a command goes on Kafka (command_record: its topic, key, value and headers),
for every writer of commands (the API, the CLI, the saga), and the CLI's publisher."""

from collections.abc import Iterable

from confluent_kafka import Producer

from ostock.commands import command_topic
from ostock.contract import Codec
from ostock.contract.records import Command
from ostock.kafka.config import Headers, producer_config
from ostock.kafka.delivery import Outgoing, deliver
from ostock.kafka.schema_registry import register
from ostock.settings import Settings, Topics


def command_record(
    codec: Codec, topics: Topics, command: Command, traceparent: str | None = None
) -> Outgoing:
    """`command` on its service's topic, keyed by organization id, with its correlation id
    (and the trace it continues, if any) in its headers."""
    meta = command.meta
    headers: Headers = [("correlation-id", meta.correlation_id.encode())]
    if traceparent is not None:
        headers.append(("traceparent", traceparent.encode()))
    return Outgoing(
        command_topic(command, topics), meta.organization_id.encode(), codec.write(command), headers
    )


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
        topics = self.settings.topics
        records = (command_record(self.codec, topics, command) for command in commands)
        timeout_s = self.settings.kafka_timeout_s
        return deliver(self.producer, records, timeout_s, "commands", PublishError)
