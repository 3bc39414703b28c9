"""The eventsourcing AggregateRecorder over a KafkaEventLog."""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import AggregateRecorder, StoredEvent

from ostock.eventstore.log import KafkaEventLog


class KafkaAggregateRecorder(AggregateRecorder):
    """Inserts append to the events topic; selects read the writer's loaded partitions."""

    def __init__(self, log: KafkaEventLog) -> None:
        self.log = log

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        """Append atomically; `headers=` (from Application.save) travel with each record."""
        if stored_events:
            self.log.append(stored_events, kwargs.get("headers"))
        return None

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """Events of one aggregate, filtered by version, in either order."""
        events = [
            e
            for e in self.log.select(originator_id)
            if (gt is None or e.originator_version > gt)
            and (lte is None or e.originator_version <= lte)
        ]
        if desc:
            events.reverse()
        return events[:limit] if limit is not None else events
