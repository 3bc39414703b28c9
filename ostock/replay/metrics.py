"""A replay's progress as metrics (ostock.telemetry.metrics): the events each model took,
their rate, and which generation it builds, while it runs.

The generation gauge holds the moment the replay began, in seconds since the epoch: a
number, where a generation's name is text (a replay's, g<UTC time>, is named after that
moment to the millisecond; a snapshot's after the snapshot)."""

import time
from collections.abc import Sequence

from ostock.telemetry.metrics import REPLAY_EVENTS, REPLAY_GENERATION, REPLAY_RATE


class ReplayMetrics:
    """The metrics of a replay of models `names`, beginning now."""

    def __init__(self, names: Sequence[str]) -> None:
        self._started = time.monotonic()
        self._taken = dict.fromkeys(names, 0)
        for name in names:
            REPLAY_GENERATION.labels(name).set(time.time())
            REPLAY_RATE.labels(name).set(0)

    def applied(self, taken: Sequence[tuple[str, int]]) -> None:
        """A batch applied, with the events each model took from it."""
        seconds = time.monotonic() - self._started
        for name, count in taken:
            REPLAY_EVENTS.labels(name).inc(count)
            self._taken[name] += count
            REPLAY_RATE.labels(name).set(self._taken[name] / seconds if seconds else 0)

    def ended(self) -> None:
        """The replay ended (done, failed or given up): none runs."""
        for name in self._taken:
            REPLAY_GENERATION.labels(name).set(0)
            REPLAY_RATE.labels(name).set(0)
