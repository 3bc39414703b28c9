"""Which saga decision each event feeds (ostock.sagas.cascade_delete decides; this only
routes events to it), applied in order over the memories of a batch's organizations."""

from collections.abc import Iterable, Mapping

from ostock.contract.records import (
    Command,
    Event,
    LicenseCreated,
    LicenseDeleted,
    OrganizationDeleted,
)
from ostock.sagas.cascade_delete import (
    OrganizationMemory,
    on_license_created,
    on_license_deleted,
    on_organization_deleted,
)

#: The events the saga reacts to; the others of the event topics it ignores.
REACTING = OrganizationDeleted | LicenseCreated | LicenseDeleted


def reaction(memory: OrganizationMemory, event: Event) -> tuple[OrganizationMemory, list[Command]]:
    """The saga's decision on one event, given its organization's memory."""
    meta = event.meta
    match event:
        case OrganizationDeleted():
            return on_organization_deleted(
                memory, meta.organization_id, meta.event_id, meta.correlation_id
            )
        case LicenseCreated():
            return on_license_created(memory, meta.organization_id, meta.aggregate_id)
        case LicenseDeleted():
            return on_license_deleted(memory, meta.aggregate_id), []
    return memory, []


def concerned(events: Iterable[Event]) -> set[str]:
    """The organizations whose memory the events may change."""
    return {e.meta.organization_id for e in events if isinstance(e, REACTING)}


class Tracked:
    """One organization's memory through a batch: where it started, where it is now, and
    every license that was live on the way (stored as facts, streams.saga_memory)."""

    def __init__(self, start: OrganizationMemory) -> None:
        self.start = start
        self.now = start
        self.seen = set(start.live_licenses)

    def advance(self, memory: OrganizationMemory) -> None:
        self.now = memory
        self.seen |= memory.live_licenses


def react(tracked: Mapping[str, Tracked], events: Iterable[Event]) -> list[Command]:
    """Feed `events`, in order, to the decisions, advancing `tracked` (which holds every
    concerned organization); returns the commands decided, in order."""
    commands: list[Command] = []
    for event in events:
        if not isinstance(event, REACTING):
            continue
        memory = tracked[event.meta.organization_id]
        after, issued = reaction(memory.now, event)
        memory.advance(after)
        commands.extend(issued)
    return commands
