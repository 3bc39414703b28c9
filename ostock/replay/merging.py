"""A replay's batch merged aggregate by aggregate: instead of the writes of each event,
one view write per aggregate (its newest event's view, with what its creation set) and
one history write of all its entries. Applied by ostock_replay, they leave the same keys
as the events applied one by one, for a fraction of the work on both sides: a view body
encoded and written once per aggregate and batch rather than once per event."""

from collections.abc import Sequence
from datetime import datetime

from ostock.contract.records import Event
from ostock.views.models import ReadModel
from ostock.views.projection import (
    HistoryEntries,
    Projected,
    Write,
    history_json,
    history_key,
)


class _Aggregate:
    """The events of one aggregate in a batch, as far as read."""

    __slots__ = ("created_at", "entries", "newest", "offset", "source", "version")

    def __init__(self, source: str, newest: Event) -> None:
        self.source = source
        self.offset = -1
        self.version = -1
        self.newest = newest
        #: When it was created, if its creation is among the events.
        self.created_at: datetime | None = None
        #: (version, entry) of each event, if the model keeps histories.
        self.entries: list[tuple[int, bytes]] = []


class Merge:
    """One model's writes for one batch, merged aggregate by aggregate as its records
    arrive (in log order).

    An event that does not advance its aggregate's version is left out, as the live
    writes ignore it. The aggregates come out in the order of their last events, so each
    stands at an offset above those before it in its source: ostock_replay skips an event
    at or below the offset it has applied there."""

    def __init__(self, model: ReadModel) -> None:
        self.model = model
        #: Records taken so far.
        self.taken = 0
        self._creations = tuple(kind for kind, c in model.changes.items() if c.created)
        self._aggregates: dict[tuple[int, str], _Aggregate] = {}
        # The aggregate of the record before: an aggregate's events often come in a row,
        # and it is already last.
        self._last: tuple[int, str] | None = None

    def add(self, record: Event, topic: str, partition: int, offset: int) -> None:
        """The next record of `model`, read at `offset` of `topic`'s `partition`."""
        self.taken += 1
        meta = record.meta
        key = (partition, meta.aggregate_id)
        version = meta.version
        if key == self._last:
            aggregate = self._aggregates[key]
        else:
            self._last = key
            known = self._aggregates.pop(key, None)
            aggregate = known or _Aggregate(f"{topic}:{partition}", record)
            self._aggregates[key] = aggregate  # last: the order of the last events
        aggregate.offset = offset
        if version <= aggregate.version:
            return
        aggregate.version, aggregate.newest = version, record
        if isinstance(record, self._creations):
            aggregate.created_at = meta.occurred_at
        if self.model.history:
            aggregate.entries.append((version, history_json(record)))

    def projected(self) -> list[Projected]:
        """Each aggregate's writes, with its source and the offset of its last event."""
        return [
            Projected(aggregate.source, aggregate.offset, self._writes(aggregate))
            for aggregate in self._aggregates.values()
        ]

    def _writes(self, aggregate: _Aggregate) -> tuple[Write, ...]:
        view = self.model.view(aggregate.newest, aggregate.created_at)
        if not aggregate.entries:
            return (view,)
        history = HistoryEntries(history_key(aggregate.newest), tuple(aggregate.entries))
        return view, history


class BatchMerge:
    """A batch's records merged for each of several models, each taking its records: those
    of its topic it has a change for."""

    def __init__(self, models: Sequence[tuple[ReadModel, str]]) -> None:
        """`models`: each model and its topic."""
        self.merges = [Merge(model) for model, _ in models]
        self._takers: dict[tuple[str, type[Event]], list[Merge]] = {}
        for merge, (model, topic) in zip(self.merges, models, strict=True):
            for kind in model.changes:
                self._takers.setdefault((topic, kind), []).append(merge)

    def add(self, record: Event, topic: str, partition: int, offset: int) -> None:
        """The next record read, at `offset` of `topic`'s `partition`."""
        for merge in self._takers.get((topic, type(record)), ()):
            merge.add(record, topic, partition, offset)

    def projected(self) -> list[tuple[str, list[Projected]]]:
        """Each model's name and its merged writes."""
        return [(merge.model.name, merge.projected()) for merge in self.merges]
