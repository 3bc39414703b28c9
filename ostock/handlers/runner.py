"""The command loop: consume a batch of commands, decide each, and in one Kafka
transaction produce their events, their results and the consumed offsets.

Exactly once by Kafka's own means: the transaction commits the command offsets
with the events, and a zombie left over from a rebalance is fenced because the
offsets are sent with the consumer group's metadata (KIP-447).

A batch's transaction commits in a thread of its own while the loop consumes and decides
the next batch, on the state the first one left (held in memory), taking in what arrives
until that commit has ended; then the next transaction begins. The commit's round trips
to the broker (offsets, then the commit itself: ~8 ms apiece at the median under load)
no longer stop the loop, and a command that arrives during them goes in the very next
transaction.

A batch that fails is aborted and consumed again, after a growing pause, with the batch
decided on top of it. A failure of Kafka or of the event log is retried until it goes; a
command whose decision fails otherwise (a bug, not a DomainError) ATTEMPTS times in a row
is dead-lettered with its error, in the transaction of its batch, and the commands after
it go on.
"""

import logging
import threading
import time
from collections.abc import Collection, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition

from ostock.contract import Codec, Record, UndecodableRecord
from ostock.deadletters import dead_letter_headers
from ostock.domain.aggregate import Issued
from ostock.domain.errors import DomainError
from ostock.eventstore.log import EventLogError, Outgoing
from ostock.handlers.application import CommandApplication
from ostock.handlers.committer import CommitStuck, Committer
from ostock.kafka import Headers, co_partitioned, consumer_config, partition_for
from ostock.settings import Settings

log = logging.getLogger(__name__)

CARRIED_HEADERS = ("correlation-id", "traceparent")
#: Where a command sent on to its organization's partition first arrived: topic[p]@offset.
FORWARDED_FROM = "forwarded-from"
#: Failures of the infrastructure, retried and never dead-lettered (TimeoutError is an OSError).
TRANSIENT = (KafkaException, EventLogError, OSError, BufferError)
#: Failed decisions of one command before it is dead-lettered as a handler error.
ATTEMPTS = 3
FIRST_PAUSE_S = 0.1
MAX_PAUSE_S = 5.0
HANDLER_ERROR = "handler-error"
#: How long the loop waits for more commands while a commit is in flight: the commands
#: decided meanwhile go in the next transaction.
ARRIVAL_WAIT_S = 0.001


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
    #: Topics partitioned like the commands: the owner of command partition p reads and
    #: writes partition p of each.
    co_partitioned: tuple[str, ...] = ()


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
        self._consumer_config = consumer_config(
            settings,
            self.group_id,
            **{"group.instance.id": f"{self.group_id}.{instance}", "session.timeout.ms": 10000},
        )
        self.consumer = Consumer(self._consumer_config)
        # Whether this consumer has been assigned partitions: one fenced before that has
        # a live rival with its member name.
        self._assigned = False
        self.handled = 0
        self.forwarded = 0
        #: Partitions of the commands topic (and of every co-partitioned topic), read by run.
        self.partitions = 0
        # Failed decisions by command position: how many in a row, the last error.
        self._failures: dict[tuple[int, int], tuple[int, str]] = {}
        self._pause_s = FIRST_PAUSE_S
        self._committer = Committer(
            f"{spec.service}-commit", deadline_s=max(settings.kafka_timeout_s * 4, 20.0)
        )
        # Counts rebalances: a batch consumed across one is dropped, not committed.
        self._rebalances = 0
        # Whether what is owned must be consumed again from its committed offsets, on
        # its state reloaded, before the next command is decided.
        self._stale = False

    def run(self, stop: threading.Event) -> None:
        """Consume and decide until `stop` is set; a fatal Kafka error ends the loop, and so
        does PartitioningError before the first command."""
        topics = [self.spec.commands_topic, *self.spec.co_partitioned]
        self.partitions = co_partitioned(self.consumer, topics, self.settings.kafka_timeout_s)
        self._subscribe()
        try:
            while not stop.is_set():
                try:
                    self._step()
                except KafkaException as error:
                    if not error.args[0].fatal():
                        raise
                    self._replace_consumer(error)
        finally:
            self._settle_given_up()
            self.consumer.close()

    def _step(self) -> None:
        """Recover if the state is stale, else decide what has arrived, if anything."""
        if self._stale:
            self._recover()
            return
        rebalances = self._rebalances
        # A batch is what has arrived once there is something: consume() alone would
        # wait its whole timeout for a full batch at a low rate.
        first = self.consumer.poll(0.1)
        if first is None:
            self._settle()  # nothing to decide meanwhile
            return
        rest = self.consumer.consume(num_messages=self.batch_size - 1, timeout=0)
        commands = _commands([first, *rest])
        if commands:
            self._process(commands, rebalances)

    def _subscribe(self) -> None:
        self.consumer.subscribe(
            [self.spec.commands_topic], on_assign=self._on_assign, on_revoke=self._on_revoke
        )

    def _replace_consumer(self, error: KafkaException) -> None:
        """Replace a consumer that failed fatally (after a broker restart, a static member
        can be fenced by its own retried join) by a new one with the same member name,
        which joins the group again and loads what it is assigned. If it was never
        assigned anything, a live rival has its name: the error stands."""
        if not self._assigned:
            raise error
        log.warning("replacing the consumer after: %s", error.args[0])
        self._settle_given_up()
        self._reload([])
        self._stale = False
        with suppress(KafkaException, RuntimeError):  # it is done for in any case
            self.consumer.close()
        self.consumer = Consumer(self._consumer_config)
        self._assigned = False
        self._subscribe()

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._rebalances += 1
        self._assigned = True
        # The events read next must include those of the commit in flight.
        self._settle_given_up()
        started = time.monotonic()
        try:
            self._committed(partitions)  # waits for a previous owner's open transaction
            loaded = self._reload([p.partition for p in partitions])
        except TRANSIENT as error:
            log.warning("assigned %s, state not loaded yet: %r", partitions, error)
            self._stale = True
            return
        self._stale = False  # the consumer starts from the committed offsets
        log.info(
            "assigned %s: %d events loaded in %.2fs",
            sorted(p.partition for p in partitions),
            loaded,
            time.monotonic() - started,
        )

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._rebalances += 1
        self._settle_given_up()
        log.info("revoked %s", sorted(p.partition for p in partitions))
        self._reload([])

    def _process(self, commands: Sequence[Message], rebalances: int) -> None:
        """Decide a batch, growing it with what arrives while the commit in flight lasts
        (a command that arrives then joins this batch rather than wait for the next one's
        commit too), then commit it in the committer thread once that commit has ended.

        A batch consumed across a rebalance (`rebalances` counts those before its first
        command) is dropped, and what is owned now is consumed again from its committed
        offsets."""
        batch: list[Message] = []
        failure: Exception | None = None
        try:
            with self.app.event_log.staging() as outgoing:
                while True:
                    self.app.before_batch()
                    batch += commands
                    for message in commands:
                        self._handle(outgoing, message)
                    if not self._committer.in_flight():
                        break
                    room = self.batch_size - len(batch)
                    if room <= 0:
                        break
                    commands = _commands(self.consumer.consume(room, timeout=ARRIVAL_WAIT_S))
        except Exception as error:
            failure = error
        if not self._settle():
            return
        if self._rebalances != rebalances:
            log.info("batch of %d commands dropped: consumed across a rebalance", len(batch))
            self._stale = True
        elif failure is not None:
            self._failed(failure)
        elif not self._stale:
            self._commit_later(outgoing, batch)

    def _commit_later(self, outgoing: list[Outgoing], batch: list[Message]) -> None:
        """Commit `outgoing` and `batch`'s offsets in the committer thread."""
        offsets = _next_offsets(batch)
        group = self.consumer.consumer_group_metadata()
        publish = partial(self.app.event_log.publish, outgoing, offsets, group)
        self._committer.submit(publish, batch)

    def _recover(self) -> None:
        """Consume what is owned again from its committed offsets, on its state reloaded:
        whatever was decided since leaves no trace. A failure of Kafka or of the event
        log is tried again after a pause."""
        owned = self.consumer.assignment()
        try:
            for partition in self._committed(owned):
                if partition.offset < 0:  # nothing committed yet: from the start, as assigned
                    partition.offset = OFFSET_BEGINNING
                self.consumer.seek(partition)
            self._reload([p.partition for p in owned])
        except TRANSIENT as error:
            log.warning("state not reloaded, trying again in %.1fs: %r", self._pause_s, error)
            self._pause()
            return
        self._stale = False

    def _committed(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        """The committed offsets of `partitions`. A read_committed consumer fetches them
        "stable": this waits until a previous owner's open transaction is resolved, so
        the events read next include everything it committed."""
        timeout = max(self.settings.kafka_timeout_s * 6, 30)
        return self.consumer.committed(partitions, timeout=timeout)

    def _settle(self) -> bool:
        """Wait for the commit in flight. If it failed, its batch is consumed again, and
        whatever was decided on top of it: False."""
        error = self._wait_for_commit()
        if error is not None:
            self._failed(error)
            return False
        return True

    def _settle_given_up(self) -> None:
        """Wait for the commit in flight, and let its batch go if it failed: the consumer
        is closing or its partitions are reassigned, so whoever owns them next (from the
        committed offsets) reads it again."""
        error = self._wait_for_commit()
        if error is not None:
            log.warning("batch not committed, left to the partitions' next owner: %r", error)

    def _wait_for_commit(self) -> BaseException | None:
        """Wait for the commit in flight to end (bounded); its failure if any. The producer
        of a commit stuck past its deadline is replaced before the next one."""
        batch, error = self._committer.wait()
        if isinstance(error, CommitStuck):
            log.warning("%s: its transactional producer is replaced", error)
            self.app.event_log.abandon()
        if error is not None:
            return error
        self.handled += len(batch)
        if self._failures:
            for message in batch:
                self._failures.pop(_position(message), None)
        self._pause_s = FIRST_PAUSE_S
        return None

    def _failed(self, error: BaseException) -> None:
        """A batch that failed (with what was decided after it) is consumed again after a
        pause, unless the consumer's failure is fatal (the event log replaces a fatal
        producer itself); an error of no known kind ends the loop."""
        if isinstance(error, KafkaException) and error.args[0].fatal():
            raise error
        if isinstance(error, DecisionFailed):
            count, _ = self._failures.get(error.position, (0, ""))
            self._failures[error.position] = (count + 1, error.error)
        elif not isinstance(error, TRANSIENT):
            raise error
        log.warning("batch aborted, retrying it in %.1fs: %r", self._pause_s, error)
        self._pause()
        self._stale = True

    def _pause(self) -> None:
        time.sleep(self._pause_s)
        self._pause_s = min(self._pause_s * 2, MAX_PAUSE_S)

    def _handle(self, outgoing: list[Outgoing], message: Message) -> None:
        headers = _header_list(message.headers())
        try:
            command = self.codec.decode(message.value(), expected=self.spec.command_names)
        except UndecodableRecord as error:
            outgoing.append(self._dead_letter(message, error.reason, str(error)))
            return
        organization_id = command.fields["meta"]["organization_id"]
        home = partition_for(organization_id, self.partitions)
        if home != message.partition():
            outgoing.append(self._forwarded(message, organization_id, home))
            return
        position = _position(message)
        failures, last_error = self._failures.get(position, (0, ""))
        if failures >= ATTEMPTS:
            outgoing.append(self._dead_letter(message, HANDLER_ERROR, last_error))
            return
        carried = [(k, v) for k, v in headers if k in CARRIED_HEADERS]
        try:
            result = self._decide(command, carried)
        except TRANSIENT:
            raise
        except Exception as error:  # a bug: retried, then dead-lettered (never dropped)
            raise DecisionFailed(position, error) from error
        outgoing.append(
            Outgoing(
                self.settings.topics.command_results,
                str(result["command_id"]).encode(),
                self.codec.encode("ostock.CommandResult", result),
                carried,
            )
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
        headers = [*_header_list(message.headers()), (FORWARDED_FROM, where.encode())]
        return Outgoing(
            self.spec.commands_topic, organization_id.encode(), message.value(), headers, home
        )

    def _dead_letter(self, message: Message, reason: str, error: str) -> Outgoing:
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
            original=_header_list(message.headers()),
        )
        return Outgoing(self.settings.topics.dead_letters, message.key(), message.value(), headers)

    def _reload(self, owned: list[int]) -> int:
        """The owned partitions' state as their events log holds it; how many events."""
        loaded = self.app.event_log.load(owned)
        self.app.assigned(owned)
        return loaded


def _commands(messages: Sequence[Message]) -> list[Message]:
    """The records among `messages`; consumer errors are logged, a fatal one raised."""
    for error in (m.error() for m in messages):
        if error is not None and error.fatal():
            raise KafkaException(error)
        if error is not None:
            log.warning("consumer error: %s", error)
    return [m for m in messages if m.error() is None]


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
