"""Which saga decision each event feeds (ostock.sagas.cascade_delete decides; this only
routes events to it), applied in order over the memories of a batch's organizations."""

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ostock.commands import Command
from ostock.contract import Record, names
from ostock.sagas.cascade_delete import (
    OrganizationMemory,
    on_license_created,
    on_license_deleted,
    on_organization_deleted,
)

#: Every event the organization and license event topics carry; anything else there is
#: poison. The events without a reaction below are ignored.
EVENTS = frozenset(names.EVENTS)

Meta = dict[str, Any]
Reaction = Callable[[OrganizationMemory, Meta], tuple[OrganizationMemory, list[Command]]]


def _organization_deleted(
    memory: OrganizationMemory, meta: Meta
) -> tuple[OrganizationMemory, list[Command]]:
    return on_organization_deleted(
        memory, meta["organization_id"], meta["event_id"], meta["correlation_id"]
    )


def _license_created(
    memory: OrganizationMemory, meta: Meta
) -> tuple[OrganizationMemory, list[Command]]:
    return on_license_created(memory, meta["organization_id"], meta["aggregate_id"])


def _license_deleted(
    memory: OrganizationMemory, meta: Meta
) -> tuple[OrganizationMemory, list[Command]]:
    return on_license_deleted(memory, meta["aggregate_id"]), []


REACTIONS: dict[str, Reaction] = {
    names.ORGANIZATION_DELETED: _organization_deleted,
    names.LICENSE_CREATED: _license_created,
    names.LICENSE_DELETED: _license_deleted,
}


def concerned(records: Iterable[Record]) -> set[str]:
    """The organizations whose memory the records may change."""
    return {r.fields["meta"]["organization_id"] for r in records if r.name in REACTIONS}


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


def react(tracked: Mapping[str, Tracked], records: Iterable[Record]) -> list[Command]:
    """Feed `records`, in order, to the decisions, advancing `tracked` (which holds every
    concerned organization); returns the commands decided, in order."""
    commands: list[Command] = []
    for record in records:
        reaction = REACTIONS.get(record.name)
        if reaction is None:
            continue
        meta = record.fields["meta"]
        memory = tracked[meta["organization_id"]]
        after, issued = reaction(memory.now, meta)
        memory.advance(after)
        commands.extend(issued)
    return commands
