"""The metrics' labelled children, cached, and counting a batch at once.

prometheus_client's `labels()` takes a lock and checks its arguments on every call, and
so does each increment: in a loop of thousands of records a second, each child is looked
up once and kept, a batch adds to a counter once per label set, and a histogram takes a
batch's values with one increment per bucket.
"""

from bisect import bisect_left
from collections import Counter as Tallied
from collections.abc import Iterable
from typing import Any, TypeVar

from prometheus_client import Counter, Gauge, Histogram

M = TypeVar("M", Counter, Gauge, Histogram)

_children: dict[tuple[Any, tuple[str, ...]], Any] = {}


def child(metric: M, *values: str) -> M:
    """`metric.labels(*values)`, made once per process."""
    key = (metric, values)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*values)
    return found


def count_topics(counter: Counter, topics: Iterable[str], *labels: str) -> None:
    """Add each topic's share of `topics` (one per record) to `counter`, labelled
    `labels` and then the topic: one increment per topic."""
    for topic, count in Tallied(topics).items():
        child(counter, *labels, topic).inc(count)


def observe_all(histogram: Histogram, values: Iterable[float]) -> None:
    """Observe each of `values` on `histogram` (a labelled child), as `observe` would one
    by one, at a tenth of its cost: observe takes two locks per value. It fills the
    child's buckets and sum itself (prometheus_client's own attributes; the version is
    pinned and tests/unit/telemetry checks the two agree)."""
    bounds = histogram._upper_bounds
    counts = [0] * len(bounds)
    total = 0.0
    for value in values:
        counts[bisect_left(bounds, value)] += 1
        total += value
    for bucket, count in zip(histogram._buckets, counts, strict=True):
        if count:
            bucket.inc(count)
    histogram._sum.inc(total)


class Tally:
    """Increments held back until what they count has taken effect (a transaction
    committed), then added; dropped with it otherwise."""

    def __init__(self) -> None:
        self._counts: dict[Counter, int] = {}

    def add(self, counter: Counter) -> None:
        """One more for `counter` (a labelled child)."""
        self._counts[counter] = self._counts.get(counter, 0) + 1

    def commit(self) -> None:
        """Add what was held to the counters."""
        for counter, count in self._counts.items():
            counter.inc(count)
        self._counts.clear()
