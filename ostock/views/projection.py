"""Pure projections: a decoded record in, the Redis writes it asks for out.

Bodies are JSON with a fixed field order, so a view rebuilt by a replay equals the
live one byte for byte. Timestamps are ISO 8601 UTC with milliseconds, the precision
of the records.
"""

from datetime import UTC, datetime
from functools import cache, lru_cache
from itertools import chain
from typing import Any, NamedTuple

import orjson

from ostock.contract.records import (
    Event,
    OrganizationCreated,
    OrganizationDeleted,
    OrganizationEvent,
    OrganizationUpdated,
    name_of,
)
from ostock.views import keys
from ostock.views.functions import HISTORY_WRITE, LISTED_WRITE, VIEW_WRITE

#: One write of an event as ostock.lua takes it: its name, its keys (within a
#: generation), then its args.
Part = tuple[Any, ...]


class ViewUpdate(NamedTuple):
    """Set the view at `key` to `body`, unless it already holds `version` or a newer one.

    The keys of every write are keys within a generation (ostock.views.keys)."""

    key: str
    version: int
    body: bytes

    def part(self) -> Part:
        return VIEW_WRITE, self.key, self.version, self.body


class ListedView(NamedTuple):
    """A ViewUpdate that, if applied, also keeps the view's entry in the sorted set at
    `index_key`: there while `listed`, gone once not. The creation brings the `entry`;
    later events bring "" and ostock.lua uses the one it stored with the view."""

    key: str
    index_key: str
    version: int
    body: bytes
    entry: str
    listed: bool

    def part(self) -> Part:
        return (
            LISTED_WRITE,
            self.key,
            self.index_key,
            self.version,
            self.body,
            self.entry,
            int(self.listed),
        )


class HistoryEntry(NamedTuple):
    """Add `entry` to the history at `key`, unless it already reaches `version`."""

    key: str
    version: int
    entry: bytes

    def part(self) -> Part:
        return HISTORY_WRITE, self.key, self.version, self.entry


class HistoryEntries(NamedTuple):
    """Add `entries` (version, entry), in version order, to the history at `key`, each
    unless the history already reaches its version: the entries of several events of one
    aggregate in one write."""

    key: str
    entries: tuple[tuple[int, bytes], ...]

    def part(self) -> Part:
        return HISTORY_WRITE, self.key, *chain.from_iterable(self.entries)


#: A view an event leaves.
View = ViewUpdate | ListedView

#: A write of a projected event.
Write = ViewUpdate | ListedView | HistoryEntry | HistoryEntries


class Projected(NamedTuple):
    """The writes one event asks for, and where the event stands in the log: a replay
    hands a source over to the live projector by offsets (read-models/README.md)."""

    #: "<topic>:<partition>"
    source: str
    offset: int
    writes: tuple[Write, ...]


# An event's view and its history entry format the same moment; a replay formats the
# newest event of an aggregate again for its view at the end of a batch (replay_batch_size).
@lru_cache(maxsize=4096)
def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds: 2024-05-01T12:00:00.000Z."""
    u = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    # %-formatting is the cheapest of the ways to write this (docs/performance.md), and
    # it runs for each event.
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (  # noqa: UP031
        u.year,
        u.month,
        u.day,
        u.hour,
        u.minute,
        u.second,
        u.microsecond // 1000,
    )


class Change(NamedTuple):
    """What an event does to its aggregate's view."""

    status: str
    #: It sets created_at; the others leave the stored one (ostock.lua).
    created: bool
    #: It carries the full new details (not a diff); a deletion carries none.
    details: bool


CREATED = Change("active", created=True, details=True)
UPDATED = Change("active", created=False, details=True)
DELETED = Change("deleted", created=False, details=False)


def view_body(
    head: dict[str, Any],
    details: tuple[str, ...],
    event: Event,
    change: Change,
    created_at: datetime | None = None,
) -> bytes:
    """An aggregate's view after `event`: `head` (its ids; the dict is the caller's and
    becomes the view), `details`, status, version, created_at, updated_at. A deletion
    leaves a tombstone of the same shape, details null, rather than nothing: its version
    stops an older replayed event from bringing it back. `created_at`: when the aggregate
    was created, if the caller knows it although `event` is not the creation (a replay
    merging an aggregate's events)."""
    meta = event.meta
    at = iso(meta.occurred_at)
    # Insertion order is the body's field order.
    view = head
    if change.details:
        for field in details:
            view[field] = getattr(event, field)
    else:
        view.update(dict.fromkeys(details))
    view["status"] = change.status
    view["version"] = meta.version
    if change.created:
        view["created_at"] = at
    else:  # null asks ostock.lua to keep the stored created_at
        view["created_at"] = None if created_at is None else iso(created_at)
    view["updated_at"] = at
    return orjson.dumps(view)


ORGANIZATION_DETAILS = ("name", "contact_name", "contact_email", "contact_phone", "website")
ORGANIZATION_CHANGES: dict[type[Event], Change] = {
    OrganizationCreated: CREATED,
    OrganizationUpdated: UPDATED,
    OrganizationDeleted: DELETED,
}


def organization_view(event: Event, created_at: datetime | None = None) -> ViewUpdate:
    """The organization view after `event` (an organization event); `created_at` as for
    view_body."""
    meta = event.meta
    organization_id = meta.organization_id
    head = {"organization_id": organization_id}
    change = ORGANIZATION_CHANGES[type(event)]
    body = view_body(head, ORGANIZATION_DETAILS, event, change, created_at)
    return ViewUpdate(keys.organization(organization_id), meta.version, body)


def history_entry(event: Event) -> HistoryEntry:
    """The entry `event` adds to its aggregate's history."""
    return HistoryEntry(history_key(event), event.meta.version, history_json(event))


def history_key(event: Event) -> str:
    """The key of the history of `event`'s aggregate."""
    meta = event.meta
    if isinstance(event, OrganizationEvent):
        return keys.organization_history(meta.organization_id)
    return keys.license_history(meta.organization_id, meta.aggregate_id)


@cache
def short_type(name: str) -> str:
    """A record's name without its namespace: OrganizationCreated."""
    return name.rsplit(".", 1)[1]


def history_json(event: Event) -> bytes:
    """`event`'s history entry: its short type, its envelope, and `changes`, the fields it
    carries (for an update, the new values)."""
    meta = event.meta
    changes = event._asdict()
    del changes["meta"]
    entry = {
        "type": short_type(name_of(event)),
        "version": meta.version,
        "occurred_at": iso(meta.occurred_at),
        "command_id": meta.command_id,
        "issued_by": meta.issued_by,
        "correlation_id": meta.correlation_id,
        "changes": changes,
    }
    return orjson.dumps(entry)
