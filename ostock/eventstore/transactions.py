"""The event log's transactions: each publish is one Kafka transaction, and a producer
that can no longer go on is replaced by a new one with the same transactional id."""

import logging
from collections.abc import Callable, Sequence

from confluent_kafka import KafkaError, KafkaException, Producer, TopicPartition

from ostock.kafka.delivery import Outgoing as Outgoing
from ostock.kafka.delivery import produce, sent

log = logging.getLogger(__name__)


class EventLogError(RuntimeError):
    """The events topic could not be read or written in time."""


class WriterFenced(RuntimeError):
    """Another live writer took this one's transactional id: only one may run."""


#: Errors of a producer that a newer epoch of its transactional id fenced.
FENCED = (KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH)
#: Producers in a row fenced before their first commit that mean a rival writer: a rival
#: fences every one, while the loss of a broker (its transaction coordinator moving) can
#: fence one replacement before it commits.
RIVAL_FENCES = 2


class Transactions:
    """Publishes records in transactions of a producer made by `new_producer()`.

    A producer that can no longer go on (a fatal error: after a broker restart the
    coordinator may bump its epoch while it recovers the open transaction) is replaced
    by a new one, with the same transactional id, before the next transaction. If
    RIVAL_FENCES producers in a row are fenced before they have committed anything,
    another writer with that id is alive: WriterFenced.
    """

    def __init__(self, new_producer: Callable[[], Producer], timeout_s: float) -> None:
        self._new_producer = new_producer
        self.producer = new_producer()
        self.timeout_s = timeout_s
        # Why the producer must be replaced, if it must; whether it committed since it
        # was made.
        self._broken: KafkaException | None = None
        self._committed = False
        self._fenced_uncommitted = 0  # producers in a row fenced before their first commit

    def publish(
        self,
        records: Sequence[Outgoing],
        offsets: list[TopicPartition] | None = None,
        group: object | None = None,
    ) -> None:
        """Produce `records` and commit consumer `group`'s `offsets` in one transaction,
        aborted as a whole if any of it fails. A producer that failed fatally before is
        replaced first; a fatal failure now raises EventLogError, retried like others."""
        self.repair()
        producer = self.producer
        try:
            producer.begin_transaction()
            for record in records:
                produce(producer, record)
            if offsets:
                producer.send_offsets_to_transaction(offsets, group, self.timeout_s)
            producer.commit_transaction(self.timeout_s)
        except KafkaException as error:
            if producer is not self.producer:
                raise  # a commit given up on: the producer it used is gone already
            self._abort(error)
            if self._broken is not None:
                raise EventLogError(f"transaction failed, producer to replace: {error}") from error
            raise
        except BaseException:
            producer.abort_transaction(self.timeout_s)
            raise
        if producer is self.producer:
            self._committed, self._fenced_uncommitted = True, 0
        sent(record.topic for record in records)

    def idle(self) -> None:
        """Serve the producer's callbacks (its statistics) while no transaction runs; a
        commit serves them otherwise."""
        self.producer.poll(0)

    def repair(self) -> None:
        """Replace the producer now if it must be: the new one aborts the transaction
        the old left open at once, which readers of committed offsets would otherwise
        wait out. KafkaException if the new one cannot start yet."""
        if self._broken is not None:
            self._renew(self._broken)

    def abandon(self) -> None:
        """Give the producer up (a commit of it stuck past any bound): it is replaced
        before the next transaction, and the new one takes over its transactional id."""
        self._broken = KafkaException(KafkaError(KafkaError._TIMED_OUT, "a commit got stuck"))

    def _abort(self, error: KafkaException) -> None:
        """Abort the open transaction; if the producer cannot (a fatal error, or a commit
        that timed out still in progress), mark it to be replaced: a new one completes
        or aborts that transaction when it starts."""
        if not error.args[0].fatal():
            try:
                self.producer.abort_transaction(self.timeout_s)
                return
            except KafkaException as abort_error:
                error = abort_error
        self._broken = error

    def _renew(self, error: KafkaException) -> None:
        """Replace the producer; KafkaException if the new one cannot start yet."""
        if error.args[0].code() in FENCED and not self._committed:
            self._fenced_uncommitted += 1
            if self._fenced_uncommitted >= RIVAL_FENCES:
                raise WriterFenced(
                    f"fenced {self._fenced_uncommitted} times before a commit "
                    f"({error.args[0]}): another writer with this transactional id runs; "
                    f"stop it, or give this one another name"
                )
        log.warning("replacing the transactional producer after: %s", error.args[0])
        # Not waiting for what it still sends: a stuck call may hold it.
        self.producer.purge(blocking=False)
        self.producer = self._new_producer()  # init_transactions aborts what was open
        self._broken, self._committed = None, False
