"""What a command handler owns: its consumer of the commands topic, the partitions the
group assigns it, and their state loaded from the events. After a rebalance, a failed
batch or a lost consumer, what is owned is consumed again from its committed offsets on
its state reloaded, so whatever was decided since leaves no trace (docs/architecture.md,
"Exactly once" and "Failures the handler rides out by itself")."""

import logging
import time
from collections.abc import Callable
from contextlib import suppress

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from ostock.deployables import handler_group
from ostock.handlers.application import CommandApplication
from ostock.handlers.decider import TRANSIENT
from ostock.kafka.config import SESSION_TIMEOUT_S, consumer_config, statistics_config
from ostock.settings import Settings

log = logging.getLogger(__name__)


class Ownership:
    """The consumer of `topic` for one handler instance, and the state of what it owns.

    `settle` waits for the commit in flight and lets its batch go if it failed: it runs
    before the owned partitions change, so the events read next include that commit's.
    """

    def __init__(
        self,
        settings: Settings,
        service: str,
        topic: str,
        instance: str,
        application: CommandApplication,
        settle: Callable[[], None],
    ) -> None:
        self.topic = topic
        self.app = application
        self.timeout_s = max(settings.kafka_timeout_s * 6, 30)
        self._settle = settle
        group = handler_group(service)
        # Static membership: a restarted instance takes its partitions back at once
        # instead of waiting for the dead member's session to time out.
        self._config = consumer_config(
            settings,
            group,
            **{
                "group.instance.id": f"{group}.{instance}",
                "session.timeout.ms": int(SESSION_TIMEOUT_S * 1000),
            },
            **statistics_config(settings),
        )
        self.consumer = Consumer(self._config)
        #: Counts rebalances: a batch consumed across one is dropped, not committed.
        self.rebalances = 0
        #: Whether what is owned must be consumed again from its committed offsets, on
        #: its state reloaded, before the next command is decided.
        self.stale = False
        # Whether this consumer has been assigned partitions: one fenced before that has
        # a live rival with its member name.
        self._assigned = False

    def subscribe(self) -> None:
        self.consumer.subscribe([self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke)

    def recover(self) -> bool:
        """Consume what is owned again from its committed offsets, on its state reloaded;
        False if Kafka or the event log failed (try again after a pause)."""
        owned = self.consumer.assignment()
        try:
            self.app.event_log.transactions.repair()  # its open transaction holds offsets up
            for partition in self._committed(owned):
                if partition.offset < 0:  # nothing committed yet: from the start, as assigned
                    partition.offset = OFFSET_BEGINNING
                self.consumer.seek(partition)
            self._reload([p.partition for p in owned])
        except TRANSIENT as error:
            log.warning("state not reloaded: %r", error)
            return False
        self.stale = False
        return True

    def replace(self, error: KafkaException) -> None:
        """Replace a consumer that failed fatally (after a broker restart, a static member
        can be fenced by its own retried join) by a new one with the same member name,
        which joins the group again and loads what it is assigned. If it was never
        assigned anything, a live rival has its name: the error stands."""
        if not self._assigned:
            raise error
        log.warning("replacing the consumer after: %s", error.args[0])
        self._settle()
        self._reload([])
        self.stale = False
        with suppress(KafkaException, RuntimeError):  # it is done for in any case
            self.consumer.close()
        self.consumer = Consumer(self._config)
        self._assigned = False
        self.subscribe()

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.rebalances += 1
        self._assigned = True
        self._settle()
        started = time.monotonic()
        try:
            self.app.event_log.transactions.repair()  # its open transaction holds offsets up
            self._committed(partitions)  # waits for a previous owner's open transaction
            loaded = self._reload([p.partition for p in partitions])
        except TRANSIENT as error:
            log.warning("assigned %s, state not loaded yet: %r", partitions, error)
            self.stale = True
            return
        self.stale = False  # the consumer starts from the committed offsets
        log.info(
            "assigned %s: %d events loaded in %.2fs",
            sorted(p.partition for p in partitions),
            loaded,
            time.monotonic() - started,
        )

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.rebalances += 1
        self._settle()
        log.info("revoked %s", sorted(p.partition for p in partitions))
        self._reload([])

    def _committed(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        """The committed offsets of `partitions`. A read_committed consumer fetches them
        "stable": this waits until a previous owner's open transaction is resolved, so
        the events read next include everything it committed."""
        return self.consumer.committed(partitions, timeout=self.timeout_s)

    def _reload(self, owned: list[int]) -> int:
        """The owned partitions' state as their events log holds it; how many events."""
        loaded = self.app.event_log.load(owned)
        self.app.assigned(owned)
        return loaded
