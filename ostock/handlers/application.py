"""The eventsourcing Application that every command-handling service builds on."""

from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.persistence import AggregateRecorder, Mapper, Recording

from ostock.contract import Codec
from ostock.contract.records import COMMANDS, Command, Kinds
from ostock.domain.aggregate import Issued
from ostock.domain.errors import AlreadyExists, InvalidField, NotFound
from ostock.eventstore.factory import EVENTS_TOPIC, SETTINGS, TRANSACTIONAL_ID, KafkaFactory
from ostock.eventstore.log import KafkaEventLog
from ostock.eventstore.mapper import AvroMapper
from ostock.kafka.config import Headers
from ostock.settings import Settings, settings_json


def kafka_env(settings: Settings, events_topic: str, transactional_id: str) -> dict[str, str]:
    """The eventsourcing environment that stores events in Kafka as Avro records."""
    return {
        "PERSISTENCE_MODULE": "ostock.eventstore.factory:KafkaFactory",
        SETTINGS: settings_json(settings),
        EVENTS_TOPIC: events_topic,
        TRANSACTIONAL_ID: transactional_id,
    }


class CommandApplication(Application[UUID]):
    """An Application whose events live in Kafka and which decides commands."""

    #: The commands it decides.
    commands: ClassVar[Kinds[Command]] = COMMANDS

    def __init__(self, env: dict[str, str], codec: Codec | None = None) -> None:
        # Set first: Application.__init__ constructs the mapper, which encodes with it.
        self.codec = codec or Codec()
        super().__init__(env=env)

    def construct_mapper(self) -> Mapper[UUID]:
        # Its events are the Avro records of the contract (ostock.eventstore.mapper).
        return AvroMapper(self.construct_transcoder(), codec=self.codec)

    def construct_recorder(self) -> AggregateRecorder:  # type: ignore[override]
        # Kafka has no application-wide sequence: aggregates are all this needs.
        return self.factory.aggregate_recorder()

    def save(  # type: ignore[override]
        self, aggregate: Any, **kwargs: Any
    ) -> list[Recording[UUID]]:
        """Record the aggregate's new events: Application.save for the one aggregate a
        decision changes. Its generic collect step checks each object against runtime
        Protocols, an eighth of deciding a command on Python 3.11; this application
        takes no snapshots and has no followers to notify."""
        processing = ProcessingEvent[UUID]()
        processing.events.extend(aggregate.collect_events())
        processing.aggregates[aggregate.id] = aggregate
        processing.saved_kwargs.update(kwargs)
        return self._record(processing)

    @property
    def event_log(self) -> KafkaEventLog:
        """The events topic this application appends to."""
        factory = self.factory
        assert isinstance(factory, KafkaFactory)
        return factory.log

    def assigned(self, partitions: list[int]) -> None:
        """Called once this writer owns `partitions` and has loaded their events."""

    def before_batch(self) -> None:
        """Called before each batch of commands is decided."""

    def handle(self, command: Command, issued: Issued, headers: Headers) -> int:
        """Decide one of `commands`; return the aggregate's version after it, or raise
        DomainError."""
        raise NotImplementedError

    def repeated_creation(self, aggregate_id: UUID, command_id: str, kind: str) -> int | None:
        """Before a create: None for a new aggregate, the version an earlier identical
        command produced for an existing one, or AlreadyExists."""
        # The usual case, a new aggregate, told by the log's index alone: the repository
        # would raise and catch AggregateNotFoundError to say the same, at four times
        # the cost.
        if not self.event_log.select(aggregate_id):
            return None
        existing = self.get(aggregate_id, kind)
        outcome = existing.outcome_of(command_id)
        if outcome is None:
            raise AlreadyExists(f"{kind} {aggregate_id} already exists")
        return int(outcome)

    @staticmethod
    def aggregate_id(command: Command) -> UUID:
        """The target of a command, which must be a UUID."""
        text = command.meta.aggregate_id
        try:
            return UUID(text)
        except ValueError:
            raise InvalidField(f"aggregate_id {text!r} is not a UUID") from None

    def find(self, aggregate_id: UUID) -> Any | None:
        """The aggregate, or None if it was never created."""
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def get(self, aggregate_id: UUID, kind: str) -> Any:
        """The aggregate, or NotFound."""
        aggregate = self.find(aggregate_id)
        if aggregate is None:
            raise NotFound(f"{kind} {aggregate_id} does not exist")
        return aggregate
