"""Pure projections: a decoded record in, the Redis write it asks for out.

Bodies are JSON with a fixed field order, so a view rebuilt by a replay equals the
live one byte for byte. Timestamps are ISO 8601 UTC with milliseconds, the precision
of the records.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson

from ostock.contract import Record
from ostock.views.keys import Keys


class ViewUpdate(NamedTuple):
    """Set the view at `key` to `body`, unless it already holds `version` or a newer one."""

    key: str
    version: int
    body: bytes


class CommandStatus(NamedTuple):
    """Write a command's status; it expires at `expire_at` (Unix seconds)."""

    key: str
    state: str
    body: bytes
    expire_at: int


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds: 2024-05-01T12:00:00.000Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


DETAILS = ("name", "contact_name", "contact_email", "contact_phone")


def _organization(
    meta: dict[str, Any], details: dict[str, Any] | None, status: str, created: bool
) -> bytes:
    at = iso(meta["occurred_at"])
    # Insertion order is the body's field order.
    view: dict[str, Any] = {"organization_id": meta["organization_id"]}
    view.update((field, None if details is None else details[field]) for field in DETAILS)
    view["status"] = status
    view["version"] = meta["version"]
    # null asks ostock_apply_view to keep the stored created_at.
    view["created_at"] = at if created else None
    view["updated_at"] = at
    return orjson.dumps(view)


def _created(event: dict[str, Any]) -> bytes:
    return _organization(event["meta"], event, "active", created=True)


def _updated(event: dict[str, Any]) -> bytes:
    # The event carries the full new values, not a diff.
    return _organization(event["meta"], event, "active", created=False)


def _deleted(event: dict[str, Any]) -> bytes:
    # A tombstone, not a removal: its version stops an older replayed event from
    # bringing the organization back.
    return _organization(event["meta"], None, "deleted", created=False)


ORGANIZATION_BODIES: dict[str, Callable[[dict[str, Any]], bytes]] = {
    "ostock.organization.OrganizationCreated": _created,
    "ostock.organization.OrganizationUpdated": _updated,
    "ostock.organization.OrganizationDeleted": _deleted,
}
ORGANIZATION_EVENTS = frozenset(ORGANIZATION_BODIES)


def organization_view(event: Record, keys: Keys) -> ViewUpdate:
    """The organization view after `event` (one of ORGANIZATION_EVENTS)."""
    meta = event.fields["meta"]
    body = ORGANIZATION_BODIES[event.name](event.fields)
    return ViewUpdate(keys.organization(meta["organization_id"]), meta["version"], body)


def _command_body(
    command_id: str,
    status: str,
    command_type: str,
    aggregate_id: str,
    organization_id: str,
    version: int | None = None,
    error_code: str | None = None,
    error_message: str | None = None,
    decided_at: datetime | None = None,
) -> bytes:
    return orjson.dumps(
        {
            "command_id": command_id,
            "status": status,
            "command_type": command_type,
            "aggregate_id": aggregate_id,
            "organization_id": organization_id,
            "version": version,
            "error_code": error_code,
            "error_message": error_message,
            "decided_at": None if decided_at is None else iso(decided_at),
        }
    )


def pending_status(command: Record, keys: Keys, ttl_s: int) -> CommandStatus:
    """A command seen on its topic and not yet decided; the status lives `ttl_s` from issue.

    The expiry counts from the record's own time, not the clock, so a replay does not
    bring back statuses that have already expired.
    """
    meta = command.fields["meta"]
    body = _command_body(
        meta["command_id"], "pending", command.name, meta["aggregate_id"], meta["organization_id"]
    )
    expire_at = int(meta["issued_at"].timestamp()) + ttl_s
    return CommandStatus(keys.command(meta["command_id"]), "pending", body, expire_at)


def decided_status(result: Record, keys: Keys, ttl_s: int) -> CommandStatus:
    """A CommandResult: accepted with the resulting version, or rejected with the error."""
    f = result.fields
    body = _command_body(
        f["command_id"],
        f["status"],
        f["command_type"],
        f["aggregate_id"],
        f["organization_id"],
        f["version"],
        f["error_code"],
        f["error_message"],
        f["decided_at"],
    )
    expire_at = int(f["decided_at"].timestamp()) + ttl_s
    return CommandStatus(keys.command(f["command_id"]), f["status"], body, expire_at)
