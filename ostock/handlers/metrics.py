"""The metrics of a service's command loop (ostock.telemetry.metrics): what a batch
decided and dead-lettered counts once its transaction has committed, so a batch
aborted and decided again counts once."""

from collections.abc import Sequence
from time import perf_counter

from confluent_kafka import Message

from ostock.telemetry.labels import Tally, child, count_topics
from ostock.telemetry.metrics import (
    BATCH_DURATION,
    CONSUMED,
    DEAD_LETTERS,
    DECIDED,
    TRANSACTIONS,
)


class LoopMetrics:
    """One service's handler metrics; its consumer group is `group`."""

    def __init__(self, service: str, group: str) -> None:
        self.service = service
        self.group = group
        self._committed = TRANSACTIONS.labels(service, "committed")
        self._aborted = TRANSACTIONS.labels(service, "aborted")
        self._duration = BATCH_DURATION.labels(group)
        self._accepted = DECIDED.labels(service, "accepted", "")
        # The batch being decided and the one being committed: when each was taken, and
        # what it counts.
        self._deciding: tuple[float, Tally] = (perf_counter(), Tally())
        self._committing: tuple[float, Tally] | None = None

    def taken(self, messages: Sequence[Message]) -> None:
        """A new batch begins with `messages`, consumed now (earlier batches' tallies not
        submitted are dropped: they failed)."""
        self._deciding = (perf_counter(), Tally())
        self.consumed(messages)

    def consumed(self, messages: Sequence[Message]) -> None:
        count_topics(CONSUMED, (m.topic() or "" for m in messages), self.group)

    def accepted(self) -> None:
        self._deciding[1].add(self._accepted)

    def rejected(self, code: str) -> None:
        self._deciding[1].add(child(DECIDED, self.service, "rejected", code))

    def dead_lettered(self, reason: str) -> None:
        self._deciding[1].add(child(DEAD_LETTERS, self.group, reason))

    def submitted(self) -> None:
        """The batch being decided goes to its commit."""
        self._committing = self._deciding

    def ended(self, committed: bool) -> None:
        """The commit in flight, if any, ended: committed, or aborted (or given up)."""
        if self._committing is None:
            return
        (taken, tally), self._committing = self._committing, None
        if not committed:
            self._aborted.inc()
            return
        self._committed.inc()
        tally.commit()
        self._duration.observe(perf_counter() - taken)
