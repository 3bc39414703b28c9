"""The command loop: consume a batch of commands, decide each, and in one Kafka
transaction produce their events, their results and the consumed offsets.

Exactly once by Kafka's own means: the transaction commits the command offsets
with the events, and a zombie left over from a rebalance is fenced because the
offsets are sent with the consumer group's metadata (KIP-447).

A batch that fails is aborted and consumed again, after a growing pause. A failure of
Kafka or of the event log is retried until it goes; a command whose decision fails
otherwise (a bug, not a DomainError) ATTEMPTS times in a row is dead-lettered with its
error, in the transaction of its batch, and the commands after it go on.
"""

import logging
import threading
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from confluent_kafka import Consumer, KafkaException, Message, Producer, TopicPartition

from ostock.contract import Codec, Record, UndecodableRecord
from ostock.deadletters import dead_letter_headers
from ostock.domain.aggregate import Issued
from ostock.domain.errors import DomainError
from ostock.eventstore.log import EventLogError
from ostock.handlers.application import CommandApplication
from ostock.kafka import Headers, consumer_config
from ostock.settings import Settings

log = logging.getLogger(__name__)

CARRIED_HEADERS = ("correlation-id", "traceparent")
#: Failures of the infrastructure, retried and never dead-lettered (TimeoutError is an OSError).
TRANSIENT = (KafkaException, EventLogError, OSError, BufferError)
#: Failed decisions of one command before it is dead-lettered as a handler error.
ATTEMPTS = 3
FIRST_PAUSE_S = 0.1
MAX_PAUSE_S = 5.0
HANDLER_ERROR = "handler-error"


class DecisionFailed(Exception):
    """Deciding the command at `position` (partition, offset) raised `error`."""

    def __init__(self, position: tuple[int, int], error: Exception) -> None:
        self.position = position
        self.error = f"{type(error).__name__}: {error}"
        super().__init__(f"command at {position}: {self.error}")


def handler_group(service: str) -> str:
    """The consumer group of a service's command handlers: its committed offsets say
    how far the service has decided its commands."""
    return f"ostock.{service}"


@dataclass(frozen=True)
class HandlerSpec:
    """What distinguishes one service's command handler from another's."""

    service: str
    commands_topic: str
    command_names: Collection[str]


class CommandHandler:
    """Runs one service's command loop until `stop` is set."""

    def __init__(
        self,
        settings: Settings,
        spec: HandlerSpec,
        application: CommandApplication,
        codec: Codec,
        instance: str,
        batch_size: int = 500,
    ) -> None:
        self.settings = settings
        self.spec = spec
        self.app = application
        self.codec = codec
        self.batch_size = batch_size
        self.group_id = handler_group(spec.service)
        # Static membership: a restarted instance takes its partitions back at once
        # instead of waiting for the dead member's session to time out.
        self.consumer = Consumer(
            consumer_config(
                settings,
                self.group_id,
                **{"group.instance.id": f"{self.group_id}.{instance}", "session.timeout.ms": 10000},
            )
        )
        self.handled = 0
        # Failed decisions by command position: how many in a row, the last error.
        self._failures: dict[tuple[int, int], tuple[int, str]] = {}
        self._pause_s = FIRST_PAUSE_S

    @property
    def producer(self) -> Producer:
        return self.app.event_log.producer

    def run(self, stop: threading.Event) -> None:
        """Consume and decide until `stop` is set; a fatal Kafka error ends the loop."""
        self.consumer.subscribe(
            [self.spec.commands_topic], on_assign=self._on_assign, on_revoke=self._on_revoke
        )
        try:
            while not stop.is_set():
                # A batch is what has arrived once there is something: consume() alone
                # would wait its whole timeout for a full batch at a low rate.
                first = self.consumer.poll(0.1)
                if first is None:
                    continue
                rest = self.consumer.consume(num_messages=self.batch_size - 1, timeout=0)
                messages = [first, *rest]
                commands = [m for m in messages if m.error() is None]
                for failed in (m for m in messages if m.error() is not None):
                    log.warning("consumer error: %s", failed.error())
                if commands:
                    self._process(commands)
        finally:
            self.consumer.close()

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Committed offsets are fetched "stable" by a read_committed consumer: this
        # waits until a previous owner's open transaction is resolved, so the
        # events read next include everything it committed.
        consumer.committed(partitions, timeout=max(self.settings.kafka_timeout_s * 6, 30))
        started = time.monotonic()
        owned = [p.partition for p in partitions]
        loaded = self.app.event_log.load(owned)
        self.app.assigned(owned)
        log.info(
            "assigned %s: %d events loaded in %.2fs",
            sorted(p.partition for p in partitions),
            loaded,
            time.monotonic() - started,
        )

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("revoked %s", sorted(p.partition for p in partitions))
        self.app.event_log.load([])
        self.app.assigned([])

    def _process(self, messages: Sequence[Message]) -> None:
        try:
            self.app.before_batch()
            with self.app.event_log.transaction() as producer:
                for message in messages:
                    self._handle(producer, message)
                producer.send_offsets_to_transaction(
                    _next_offsets(messages),
                    self.consumer.consumer_group_metadata(),
                    self.settings.kafka_timeout_s,
                )
            self.handled += len(messages)
        except KafkaException as error:
            if error.args[0].fatal():
                raise
            self._retry(messages, error)
        except TRANSIENT as error:
            self._retry(messages, error)
        except DecisionFailed as failed:
            count, _ = self._failures.get(failed.position, (0, ""))
            self._failures[failed.position] = (count + 1, failed.error)
            self._retry(messages, failed)
        else:
            for message in messages:
                self._failures.pop(_position(message), None)
            self._pause_s = FIRST_PAUSE_S

    def _retry(self, messages: Sequence[Message], error: Exception) -> None:
        log.warning("batch aborted, retrying it in %.1fs: %r", self._pause_s, error)
        self._rewind(messages)
        time.sleep(self._pause_s)
        self._pause_s = min(self._pause_s * 2, MAX_PAUSE_S)

    def _handle(self, producer: Producer, message: Message) -> None:
        headers = _header_list(message.headers())
        try:
            command = self.codec.decode(message.value(), expected=self.spec.command_names)
        except UndecodableRecord as error:
            self._dead_letter(producer, message, error.reason, str(error))
            return
        position = _position(message)
        failures, last_error = self._failures.get(position, (0, ""))
        if failures >= ATTEMPTS:
            self._dead_letter(producer, message, HANDLER_ERROR, last_error)
            return
        carried = [(k, v) for k, v in headers if k in CARRIED_HEADERS]
        try:
            result = self._decide(command, carried)
        except TRANSIENT:
            raise
        except Exception as error:  # a bug: retried, then dead-lettered (never dropped)
            raise DecisionFailed(position, error) from error
        producer.produce(
            self.settings.topics.command_results,
            key=str(result["command_id"]).encode(),
            value=self.codec.encode("ostock.CommandResult", result),
            headers=carried,
        )

    def _decide(self, command: Record, headers: Headers) -> dict[str, object]:
        meta = command.fields["meta"]
        issued = Issued(meta["command_id"], meta["correlation_id"], meta["issued_by"])
        result: dict[str, object] = {
            "command_id": meta["command_id"],
            "command_type": command.name,
            "aggregate_id": meta["aggregate_id"],
            "organization_id": meta["organization_id"],
            "correlation_id": meta["correlation_id"],
        }
        try:
            version = self.app.handle(command, issued, headers)
        except DomainError as error:
            status = {
                "status": "rejected",
                "error_code": error.code,
                "error_message": error.message,
            }
            return result | status | {"version": None, "decided_at": datetime.now(UTC)}
        return result | {
            "status": "accepted",
            "version": version,
            "error_code": None,
            "error_message": None,
            "decided_at": datetime.now(UTC),
        }

    def _dead_letter(self, producer: Producer, message: Message, reason: str, error: str) -> None:
        log.warning(
            "dead-lettering %s[%d]@%d: %s",
            message.topic(),
            message.partition(),
            message.offset(),
            error,
        )
        producer.produce(
            self.settings.topics.dead_letters,
            key=message.key(),
            value=message.value(),
            headers=dead_letter_headers(
                reason=reason,
                error=error,
                topic=message.topic() or "",
                partition=message.partition() or 0,
                offset=message.offset() or 0,
                consumer=self.group_id,
                original=_header_list(message.headers()),
            ),
        )

    def _rewind(self, messages: Sequence[Message]) -> None:
        # Reload the owned partitions too: the aborted batch must leave no trace.
        firsts: dict[int, int] = {}
        for message in messages:
            firsts.setdefault(message.partition() or 0, message.offset() or 0)
        for partition, offset in firsts.items():
            self.consumer.seek(TopicPartition(self.spec.commands_topic, partition, offset))
        owned = [p.partition for p in self.consumer.assignment()]
        self.app.event_log.load(owned)
        self.app.assigned(owned)


def _header_list(headers: Headers | dict[str, str | bytes | None] | None) -> Headers:
    return list(headers.items()) if isinstance(headers, dict) else list(headers or [])


def _position(message: Message) -> tuple[int, int]:
    return message.partition() or 0, message.offset() or 0


def _next_offsets(messages: Sequence[Message]) -> list[TopicPartition]:
    last: dict[tuple[str, int], int] = {}
    for message in messages:
        last[(message.topic() or "", message.partition() or 0)] = message.offset() or 0
    return [
        TopicPartition(topic, partition, offset + 1) for (topic, partition), offset in last.items()
    ]
