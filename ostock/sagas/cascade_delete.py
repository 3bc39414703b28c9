"""The cascade-delete saga: an organization's deletion deletes its licenses.

Pure decisions over what the saga remembers of one organization; the stream
processor (streams/saga.py) feeds it events and keeps its memory. Command ids are
derived from the deletion event and the license, so a redelivered event or a
repeated decision never deletes twice.
"""

from dataclasses import dataclass
from uuid import NAMESPACE_URL, uuid5

from ostock.commands import Issuer, license_command
from ostock.contract.records import Command

ISSUER = "saga:cascade-delete"


@dataclass(frozen=True)
class OrganizationMemory:
    """What the saga knows of one organization: its live licenses and its deletion."""

    live_licenses: frozenset[str] = frozenset()
    deleted_by: str | None = None  # event id of the OrganizationDeleted
    correlation_id: str = ""


def cascade_command_id(deletion_event_id: str, license_id: str) -> str:
    """The one command id under which this deletion deletes this license."""
    return str(uuid5(NAMESPACE_URL, f"ostock:cascade:{deletion_event_id}:{license_id}"))


def _delete(memory: OrganizationMemory, organization_id: str, license_id: str) -> Command:
    assert memory.deleted_by is not None
    issuer = Issuer(
        ISSUER,
        correlation_id=memory.correlation_id,
        command_id=cascade_command_id(memory.deleted_by, license_id),
    )
    return license_command("delete", organization_id, license_id, issuer)


def on_organization_deleted(
    memory: OrganizationMemory, organization_id: str, event_id: str, correlation_id: str
) -> tuple[OrganizationMemory, list[Command]]:
    """Delete every live license, once: a redelivered deletion issues nothing."""
    if memory.deleted_by is not None:
        return memory, []
    deleted = OrganizationMemory(memory.live_licenses, event_id, correlation_id)
    return deleted, [_delete(deleted, organization_id, lic) for lic in sorted(memory.live_licenses)]


def on_license_created(
    memory: OrganizationMemory, organization_id: str, license_id: str
) -> tuple[OrganizationMemory, list[Command]]:
    """Remember a live license; one created while the deletion was under way is deleted too."""
    remembered = OrganizationMemory(
        memory.live_licenses | {license_id}, memory.deleted_by, memory.correlation_id
    )
    if memory.deleted_by is None:
        return remembered, []
    return remembered, [_delete(memory, organization_id, license_id)]


def on_license_deleted(memory: OrganizationMemory, license_id: str) -> OrganizationMemory:
    """Forget a license that is gone."""
    return OrganizationMemory(
        memory.live_licenses - {license_id}, memory.deleted_by, memory.correlation_id
    )
