"""Deciding one command record: what it comes to, as records for the batch's
transaction (docs/architecture.md, "The write side")."""

import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Literal

from confluent_kafka import KafkaException, Message
from opentelemetry import trace
from opentelemetry.trace import Span, Tracer

from ostock.contract import Codec, UndecodableRecord
from ostock.contract.records import Command, CommandResult, Kinds, name_of
from ostock.domain.aggregate import Issued
from ostock.domain.errors import DomainError
from ostock.eventstore.transactions import EventLogError, Outgoing
from ostock.handlers.application import CommandApplication
from ostock.handlers.metrics import LoopMetrics
from ostock.kafka.config import Headers, partition_for
from ostock.kafka.deadletters import dead_letter_headers
from ostock.kafka.tracing import processing, processing_batch, with_context
from ostock.settings import Settings
from ostock.telemetry.context import about

log = logging.getLogger(__name__)

CARRIED_HEADERS = ("correlation-id", "traceparent")
#: Where a command sent on to its organization's partition first arrived: topic[p]@offset.
FORWARDED_FROM = "forwarded-from"
#: Failures of the infrastructure, retried and never dead-lettered (TimeoutError is an OSError).
TRANSIENT = (KafkaException, EventLogError, OSError, BufferError)
#: Failed decisions of one command before it is dead-lettered as a handler error.
ATTEMPTS = 3
HANDLER_ERROR = "handler-error"


class DecisionFailed(Exception):
    """Deciding the command at `position` (partition, offset) raised `error`."""

    def __init__(self, position: tuple[int, int], error: Exception) -> None:
        self.position = position
        self.error = f"{type(error).__name__}: {error}"
        super().__init__(f"command at {position}: {self.error}")


class Decider:
    """Decides a service's command records with its application, counting each outcome in
    `metrics`; remembers the commands whose decision failed, to dead-letter one that keeps
    failing. Given a tracer, each command is decided in a span of its own that continues
    the command's trace, and the records it comes to carry that span's context
    (ostock.kafka.tracing)."""

    def __init__(
        self,
        settings: Settings,
        commands_topic: str,
        commands: Kinds[Command],
        application: CommandApplication,
        codec: Codec,
        metrics: LoopMetrics,
        tracer: Tracer | None = None,
    ) -> None:
        self.settings = settings
        self.commands_topic = commands_topic
        self.commands = commands
        self.app = application
        self.codec = codec
        self.metrics = metrics
        self.group_id = metrics.group
        self.tracer = tracer
        #: Partitions of the commands topic (and of every co-partitioned topic).
        self.partitions = 0
        self.forwarded = 0
        # Failed decisions by command position: how many in a row, the last error.
        self._failures: dict[tuple[int, int], tuple[int, str]] = {}

    def failed(self, error: DecisionFailed) -> None:
        """Count a failed decision of the command at `error.position`."""
        count, _ = self._failures.get(error.position, (0, ""))
        self._failures[error.position] = (count + 1, error.error)

    def committed(self, batch: Sequence[Message]) -> None:
        """Forget the failures of the commands of a batch that committed."""
        if self._failures:
            for message in batch:
                self._failures.pop(position_of(message), None)

    def batch_span(self, count: int) -> AbstractContextManager[Span | None]:
        """The span of a batch of `count` commands, given a tracer, current while it is
        decided; else nothing."""
        if self.tracer is None:
            return nullcontext()
        return processing_batch(self.tracer, self.group_id, [self.commands_topic], count)

    def handle(self, outgoing: list[Outgoing], message: Message) -> None:
        """Add to `outgoing` what `message` comes to: its command's result (and, through
        the application, its events), the command forwarded to its organization's
        partition, or a dead letter. DecisionFailed if deciding it raised a bug."""
        with about(message.topic() or "", message.partition(), message.offset(), message.headers()):
            if self.tracer is None:
                self._handle(outgoing, message)
                return
            span = processing(
                self.tracer,
                self.group_id,
                message.topic() or "",
                message.partition() or 0,
                message.offset() or 0,
                message.key(),
                header_list(message.headers()),
            )
            with trace.use_span(span, end_on_exit=True):
                self._handle(outgoing, message)

    def _handle(self, outgoing: list[Outgoing], message: Message) -> None:
        headers = header_list(message.headers())
        try:
            command = self.codec.read(message.value(), self.commands)
        except UndecodableRecord as error:
            outgoing.append(self._dead_letter(message, error.reason, str(error)))
            return
        organization_id = command.meta.organization_id
        home = partition_for(organization_id, self.partitions)
        if home != message.partition():
            outgoing.append(self._forwarded(message, organization_id, home))
            return
        position = position_of(message)
        failures, last_error = self._failures.get(position, (0, ""))
        if failures >= ATTEMPTS:
            outgoing.append(self._dead_letter(message, HANDLER_ERROR, last_error))
            return
        carried = [(k, v) for k, v in headers if k in CARRIED_HEADERS]
        if self.tracer is not None:
            carried = with_context(carried)  # the trace goes on from this command's span
        try:
            result = self._decide(command, carried)
        except TRANSIENT:
            raise
        except Exception as error:  # a bug: retried, then dead-lettered (never dropped)
            raise DecisionFailed(position, error) from error
        _log_decided(result)
        outgoing.append(
            Outgoing(
                self.settings.topics.command_results,
                result.command_id.encode(),
                self.codec.write(result),
                carried,
            )
        )

    def _decide(self, command: Command, headers: Headers) -> CommandResult:
        meta = command.meta
        issued = Issued(meta.command_id, meta.correlation_id, meta.issued_by)
        try:
            version = self.app.handle(command, issued, headers)
        except DomainError as error:
            self.metrics.rejected(error.code)
            return _result(command, "rejected", None, error.code, error.message)
        self.metrics.accepted()
        return _result(command, "accepted", version, None, None)

    def _forwarded(self, message: Message, organization_id: str, home: int) -> Outgoing:
        """The command sent on to partition `home`, its organization's: its producer
        partitions unlike Kafka's default (murmur2), and deciding it here would read and
        write an organization whose events another writer owns."""
        self.forwarded += 1
        where = f"{message.topic()}[{message.partition()}]@{message.offset()}"
        if self.forwarded == 1:
            log.warning(
                "%s belongs on partition %d (murmur2 of its organization id): forwarded; "
                "its producer should use Kafka's default partitioner",
                where,
                home,
            )
        headers = [*header_list(message.headers()), (FORWARDED_FROM, where.encode())]
        return Outgoing(
            self.commands_topic, organization_id.encode(), message.value(), headers, home
        )

    def _dead_letter(self, message: Message, reason: str, error: str) -> Outgoing:
        self.metrics.dead_lettered(reason)
        log.warning(
            "dead-lettering %s[%d]@%d: %s",
            message.topic(),
            message.partition(),
            message.offset(),
            error,
        )
        headers = dead_letter_headers(
            reason=reason,
            error=error,
            topic=message.topic() or "",
            partition=message.partition() or 0,
            offset=message.offset() or 0,
            consumer=self.group_id,
            original=header_list(message.headers()),
        )
        return Outgoing(self.settings.topics.dead_letters, message.key(), message.value(), headers)


def _log_decided(result: CommandResult) -> None:
    # Logged as decided, not as committed: a batch retried decides its commands again.
    if result.status == "accepted":
        log.info(
            "%s %s accepted: version %s of %s",
            result.command_type,
            result.command_id,
            result.version,
            result.aggregate_id,
        )
    else:
        log.info(
            "%s %s rejected: %s: %s",
            result.command_type,
            result.command_id,
            result.error_code,
            result.error_message,
        )


def _result(
    command: Command,
    status: Literal["accepted", "rejected"],
    version: int | None,
    error_code: str | None,
    error_message: str | None,
) -> CommandResult:
    meta = command.meta
    return CommandResult(
        command_id=meta.command_id,
        status=status,
        command_type=name_of(command),
        aggregate_id=meta.aggregate_id,
        organization_id=meta.organization_id,
        version=version,
        error_code=error_code,
        error_message=error_message,
        decided_at=datetime.now(UTC),
        correlation_id=meta.correlation_id,
    )


def header_list(headers: Headers | dict[str, str | bytes | None] | None) -> Headers:
    return list(headers.items()) if isinstance(headers, dict) else list(headers or [])


def position_of(message: Message) -> tuple[int, int]:
    return message.partition() or 0, message.offset() or 0
