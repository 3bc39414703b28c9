"""The command loop: consume a batch of commands, decide each (ostock.handlers.decider),
and in one Kafka transaction produce their events, their results and the consumed
offsets.

Exactly once by Kafka's own means: the transaction commits the command offsets with the
events, and a zombie left over from a rebalance is fenced because the offsets are sent
with the consumer group's metadata (KIP-447).

A batch's transaction commits in a thread of its own (ostock.handlers.committer) while
the loop consumes and decides the next batch on the state the first one left, taking in
what arrives until that commit has ended; then the next transaction begins.

A batch that fails, or that a rebalance crossed, leaves no trace: what is owned is
consumed again from its committed offsets, on its state reloaded from the events, after
a growing pause. A failure of Kafka or of the event log is retried until it goes; a
fatal producer or consumer is replaced (docs/architecture.md, "Failures the handler
rides out by itself").
"""

import logging
import threading
import time
from collections.abc import Collection, Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import partial

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition

from ostock.contract import Codec
from ostock.eventstore.log import Outgoing
from ostock.handlers.application import CommandApplication
from ostock.handlers.committer import CommitStuck, Committer
from ostock.handlers.decider import TRANSIENT, Decider, DecisionFailed
from ostock.kafka import co_partitioned, consumer_config
from ostock.settings import Settings

log = logging.getLogger(__name__)

FIRST_PAUSE_S = 0.1
MAX_PAUSE_S = 5.0
#: How long the loop waits for more commands while a commit is in flight: the commands
#: decided meanwhile go in the next transaction.
ARRIVAL_WAIT_S = 0.001


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
        self.decider = Decider(
            settings, spec.commands_topic, spec.command_names, application, codec, self.group_id
        )
        self._pause_s = FIRST_PAUSE_S
        self._committer = Committer(
            f"{spec.service}-commit", deadline_s=max(settings.kafka_timeout_s * 2, 10.0)
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
        self.decider.partitions = co_partitioned(
            self.consumer, topics, self.settings.kafka_timeout_s
        )
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
            self.app.event_log.repair()  # our own open transaction would hold up the offsets
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
                        self.decider.handle(outgoing, message)
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
            self.app.event_log.repair()  # our own open transaction would hold up the offsets
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
        self.decider.committed(batch)
        self._pause_s = FIRST_PAUSE_S
        return None

    def _failed(self, error: BaseException) -> None:
        """A batch that failed (with what was decided after it) is consumed again after a
        pause, unless the consumer's failure is fatal (the event log replaces a fatal
        producer itself); an error of no known kind ends the loop."""
        if isinstance(error, KafkaException) and error.args[0].fatal():
            raise error
        if isinstance(error, DecisionFailed):
            self.decider.failed(error)
        elif not isinstance(error, TRANSIENT):
            raise error
        log.warning("batch aborted, retrying it in %.1fs: %r", self._pause_s, error)
        self._pause()
        self._stale = True

    def _pause(self) -> None:
        time.sleep(self._pause_s)
        self._pause_s = min(self._pause_s * 2, MAX_PAUSE_S)

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


def _next_offsets(messages: Sequence[Message]) -> list[TopicPartition]:
    last: dict[tuple[str, int], int] = {}
    for message in messages:
        last[(message.topic() or "", message.partition() or 0)] = message.offset() or 0
    return [
        TopicPartition(topic, partition, offset + 1) for (topic, partition), offset in last.items()
    ]
