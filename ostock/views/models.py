"""The read models a replay can rebuild, each what one projector builds: the event topic
it reads, the events it takes, and the writes of one event. The live projectors
(streams/) and the replay (ostock/replay) project through the same table."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from ostock.contract import Record
from ostock.settings import Topics
from ostock.views.keys import LICENSES, ORGANIZATION_COPIES, ORGANIZATIONS
from ostock.views.licensing import LICENSE_EVENTS, license_view, organization_copy
from ostock.views.projection import (
    ORGANIZATION_EVENTS,
    Projected,
    Write,
    history_entry,
    organization_view,
)


class Positioned(NamedTuple):
    """A decoded record and where it stands in the log."""

    record: Record
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class ReadModel:
    """One read model: what it is built from, and how."""

    name: str
    #: Its event topic, given the topic names.
    topic: Callable[[Topics], str]
    #: The records it takes (their full names).
    events: frozenset[str]
    #: The writes one event asks for.
    writes: Callable[[Record], tuple[Write, ...]]
    description: str

    def project(self, records: Iterable[Positioned]) -> list[Projected]:
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
            ORGANIZATION_EVENTS,
            lambda event: (organization_view(event), history_entry(event)),
            "organization views and histories",
        ),
        ReadModel(
            LICENSES,
            lambda topics: topics.license_events,
            LICENSE_EVENTS,
            lambda event: (license_view(event), history_entry(event)),
            "license views, the licenses-by-organization index, license histories",
        ),
        ReadModel(
            ORGANIZATION_COPIES,
            lambda topics: topics.organization_events,
            ORGANIZATION_EVENTS,
            lambda event: (organization_copy(event),),
            "the licensing service's copy of each organization",
        ),
    )
}
