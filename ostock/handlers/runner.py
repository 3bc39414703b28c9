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
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from confluent_kafka import KafkaException, Message
from opentelemetry.trace import Tracer

from ostock.contract import Codec
from ostock.contract.records import Command, Kinds
from ostock.deployables import handler_group
from ostock.eventstore.transactions import Outgoing
from ostock.handlers.application import CommandApplication
from ostock.handlers.committer import CommitStuck, Committer
from ostock.handlers.decider import TRANSIENT, Decider, DecisionFailed
from ostock.handlers.metrics import LoopMetrics
from ostock.handlers.ownership import Ownership
from ostock.kafka.config import co_partitioned, is_fatal, next_offsets
from ostock.kafka.tracing import BATCH_COUNT
from ostock.settings import Settings

log = logging.getLogger(__name__)

FIRST_PAUSE_S = 0.1
MAX_PAUSE_S = 5.0
#: How long the loop waits for more commands while a commit is in flight: the commands
#: decided meanwhile go in the next transaction.
ARRIVAL_WAIT_S = 0.001


@dataclass(frozen=True)
class HandlerSpec:
    """What distinguishes one service's command handler from another's."""

    service: str
    commands_topic: str
    commands: Kinds[Command]
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
        tracer: Tracer | None = None,
    ) -> None:
        self.settings = settings
        self.spec = spec
        self.app = application
        self.transactions = application.event_log.transactions
        self.batch_size = batch_size
        self.owned = Ownership(
            settings, spec.service, spec.commands_topic, instance, application, self._give_up
        )
        self.handled = 0
        self.metrics = LoopMetrics(spec.service, handler_group(spec.service))
        self.decider = Decider(
            settings, spec.commands_topic, spec.commands, application, codec, self.metrics, tracer
        )
        self._pause_s = FIRST_PAUSE_S
        self._committer = Committer(
            f"{spec.service}-commit", deadline_s=max(settings.kafka_timeout_s * 2, 10.0)
        )

    def run(self, stop: threading.Event) -> None:
        """Consume and decide until `stop` is set; a fatal Kafka error ends the loop, and so
        does PartitioningError before the first command."""
        topics = [self.spec.commands_topic, *self.spec.co_partitioned]
        self.decider.partitions = co_partitioned(
            self.owned.consumer, topics, self.settings.kafka_timeout_s
        )
        self.owned.subscribe()
        try:
            while not stop.is_set():
                try:
                    self._step()
                except KafkaException as error:
                    if not is_fatal(error.args[0]):
                        raise
                    self.owned.replace(error)
        finally:
            self._give_up()
            self.owned.consumer.close()

    def _step(self) -> None:
        """Recover if the state is stale, else decide what has arrived, if anything."""
        if self.owned.stale:
            if not self.owned.recover():
                self._pause()
            return
        rebalances = self.owned.rebalances
        # A batch is what has arrived once there is something: consume() alone would
        # wait its whole timeout for a full batch at a low rate.
        first = self.owned.consumer.poll(0.1)
        if first is None:
            self._settle()  # nothing to decide meanwhile
            self.transactions.idle()
            return
        rest = self.owned.consumer.consume(num_messages=self.batch_size - 1, timeout=0)
        commands = _commands([first, *rest])
        if commands:
            self._process(commands, rebalances)

    def _process(self, commands: Sequence[Message], rebalances: int) -> None:
        """Decide a batch, growing it with what arrives while the commit in flight lasts
        (a command that arrives then joins this batch rather than wait for the next one's
        commit too), then commit it in the committer thread once that commit has ended.

        A batch consumed across a rebalance (`rebalances` counts those before its first
        command) is dropped, and what is owned now is consumed again from its committed
        offsets."""
        batch: list[Message] = []
        failure: Exception | None = None
        self.metrics.taken(commands)
        try:
            with (
                self.decider.batch_span(len(commands)) as span,
                self.app.event_log.staging() as outgoing,
            ):
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
                    arrived = self.owned.consumer.consume(room, timeout=ARRIVAL_WAIT_S)
                    commands = _commands(arrived)
                    self.metrics.consumed(commands)
                if span is not None:
                    span.set_attribute(BATCH_COUNT, len(batch))
        except Exception as error:
            failure = error
        if not self._settle():
            return
        if self.owned.rebalances != rebalances:
            log.info("batch of %d commands dropped: consumed across a rebalance", len(batch))
            self.owned.stale = True
        elif failure is not None:
            self._failed(failure)
        elif not self.owned.stale:
            self._commit_later(outgoing, batch)

    def _commit_later(self, outgoing: list[Outgoing], batch: list[Message]) -> None:
        """Commit `outgoing` and `batch`'s offsets in the committer thread."""
        offsets = next_offsets(batch)
        group = self.owned.consumer.consumer_group_metadata()
        publish = partial(self.transactions.publish, outgoing, offsets, group)
        self._committer.submit(publish, batch)
        self.metrics.submitted()

    def _settle(self) -> bool:
        """Wait for the commit in flight. If it failed, its batch is consumed again, and
        whatever was decided on top of it: False."""
        error = self._wait_for_commit()
        if error is not None:
            self._failed(error)
            return False
        return True

    def _give_up(self) -> None:
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
        self.metrics.ended(error is None)
        if isinstance(error, CommitStuck):
            log.warning("%s: its transactional producer is replaced", error)
            self.transactions.abandon()
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
        if isinstance(error, KafkaException) and is_fatal(error.args[0]):
            raise error
        if isinstance(error, DecisionFailed):
            self.decider.failed(error)
        elif not isinstance(error, TRANSIENT):
            raise error
        log.warning("batch aborted, retrying it in %.1fs: %r", self._pause_s, error)
        self._pause()
        self.owned.stale = True

    def _pause(self) -> None:
        time.sleep(self._pause_s)
        self._pause_s = min(self._pause_s * 2, MAX_PAUSE_S)


def _commands(messages: Sequence[Message]) -> list[Message]:
    """The records among `messages`; consumer errors are logged, a fatal one raised."""
    for error in (m.error() for m in messages):
        if error is not None and is_fatal(error):
            raise KafkaException(error)
        if error is not None:
            log.warning("consumer error: %s", error)
    return [m for m in messages if m.error() is None]
