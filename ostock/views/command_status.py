"""Command statuses as the command-status projector writes them: pending when a command
is seen on its topic, then accepted or rejected from its result. Pure, like the other
projections (ostock.views.projection)."""

from datetime import datetime
from typing import NamedTuple

import orjson

from ostock.contract.records import Command, CommandResult, name_of
from ostock.views.keys import Keys
from ostock.views.projection import iso


class CommandStatus(NamedTuple):
    """Write a command's status; it expires at `expire_at` (Unix seconds)."""

    key: str
    state: str
    body: bytes
    expire_at: int


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


def pending_status(command: Command, keys: Keys, ttl_s: int) -> CommandStatus:
    """A command seen on its topic and not yet decided; the status lives `ttl_s` from issue.

    The expiry counts from the record's own time, not the clock, so a replay does not
    bring back statuses that have already expired.
    """
    meta = command.meta
    body = _command_body(
        meta.command_id, "pending", name_of(command), meta.aggregate_id, meta.organization_id
    )
    expire_at = int(meta.issued_at.timestamp()) + ttl_s
    return CommandStatus(keys.command(meta.command_id), "pending", body, expire_at)


def decided_status(result: CommandResult, keys: Keys, ttl_s: int) -> CommandStatus:
    """A CommandResult: accepted with the resulting version, or rejected with the error."""
    body = _command_body(
        result.command_id,
        result.status,
        result.command_type,
        result.aggregate_id,
        result.organization_id,
        result.version,
        result.error_code,
        result.error_message,
        result.decided_at,
    )
    expire_at = int(result.decided_at.timestamp()) + ttl_s
    return CommandStatus(keys.command(result.command_id), result.status, body, expire_at)
