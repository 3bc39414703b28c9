"""The read models a replay can rebuild, each what one projector builds: the event topic
it reads, the events it takes, and the writes of one event. The live projectors
(streams/) and the replay (ostock/replay) project through the same table."""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Generic, NamedTuple

from ostock.contract.records import Event, Kinds, R
from ostock.settings import Topics
from ostock.views.keys import LICENSES, ORGANIZATION_COPIES, ORGANIZATIONS
from ostock.views.licensing import LICENSE_CHANGES, license_view, organization_copy
from ostock.views.projection import (
    ORGANIZATION_CHANGES,
    Change,
    Projected,
    View,
    Write,
    history_entry,
    organization_view,
)


class Positioned(NamedTuple, Generic[R]):
    """A decoded record and where it stands in the log."""

    record: R
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class ReadModel:
    """One read model: what it is built from, and how.

    Every write of an event is about the event's aggregate: its view (the newest event's
    wins) and, if the model keeps them, its history (every event adds an entry)."""

    name: str
    #: Its event topic, given the topic names.
    topic: Callable[[Topics], str]
    #: What each record it takes (by full name) does to its aggregate.
    changes: Mapping[type[Event], Change]
    #: The view an event leaves, given when its aggregate was created if the caller knows
    #: it although the event is not the creation (None: ostock.lua keeps the stored one).
    view: Callable[[Event, datetime | None], View]
    #: Whether each event adds an entry to its aggregate's history.
    history: bool
    description: str

    @cached_property
    def events(self) -> Kinds[Event]:
        """The records it takes."""
        return Kinds(tuple(self.changes))

    def writes(self, record: Event) -> tuple[Write, ...]:
        """The writes one event asks for."""
        view = self.view(record, None)
        return (view, history_entry(record)) if self.history else (view,)

    def project(self, records: Iterable[Positioned[Event]]) -> list[Projected]:
        """Each record's writes, with its source and offset."""
        return [
            Projected(f"{topic}:{partition}", offset, self.writes(record))
            for record, topic, partition, offset in records
        ]


READ_MODELS: dict[str, ReadModel] = {
    model.name: model
    for model in (
        ReadModel(
            ORGANIZATIONS,
            lambda topics: topics.organization_events,
            ORGANIZATION_CHANGES,
            organization_view,
            True,
            "organization views and histories",
        ),
        ReadModel(
            LICENSES,
            lambda topics: topics.license_events,
            LICENSE_CHANGES,
            license_view,
            True,
            "license views, the licenses-by-organization index, license histories",
        ),
        ReadModel(
            ORGANIZATION_COPIES,
            lambda topics: topics.organization_events,
            ORGANIZATION_CHANGES,
            lambda event, _created_at: organization_copy(event),
            False,
            "the licensing service's copy of each organization",
        ),
    )
}
