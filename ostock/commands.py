"""Building commands for the write side: one place for the envelope, used by the API
and the CLI alike. A command is addressed to its topic and keyed by organization id."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import uuid4

from ostock.contract.records import (
    Command,
    CommandMeta,
    CreateLicense,
    CreateOrganization,
    DeleteLicense,
    DeleteOrganization,
    LicenseCommand,
    OrganizationCommand,
    UpdateLicense,
    UpdateOrganization,
)
from ostock.settings import Topics


def command_topic(command: Command, topics: Topics) -> str:
    """The command topic of the service that owns `command`."""
    if isinstance(command, LicenseCommand):
        return topics.license_commands
    return topics.organization_commands


@dataclass(frozen=True)
class Issuer:
    """Who issues a command, and the correlation id that ties its effects together."""

    issued_by: str
    correlation_id: str = ""
    command_id: str = ""


def envelope(
    aggregate_id: str, organization_id: str, issuer: Issuer, expected_version: int | None
) -> CommandMeta:
    """The CommandMeta of a new command; ids are generated where the issuer left them out."""
    return CommandMeta(
        command_id=issuer.command_id or str(uuid4()),
        aggregate_id=aggregate_id,
        organization_id=organization_id,
        expected_version=expected_version,
        issued_at=datetime.now(UTC),
        issued_by=issuer.issued_by,
        correlation_id=issuer.correlation_id or str(uuid4()),
    )


def organization_command(
    action: str,
    organization_id: str,
    issuer: Issuer,
    details: Mapping[str, str | None] | None = None,
    expected_version: int | None = None,
) -> OrganizationCommand:
    """Create, update or delete an organization; `details` holds name, contact fields and
    website (None or left out: none)."""
    meta = envelope(organization_id, organization_id, issuer, expected_version)
    if action == "delete":
        return DeleteOrganization(meta)
    kind = CreateOrganization if action == "create" else UpdateOrganization
    return kind(meta, **(details or {}))  # type: ignore[arg-type]


def license_command(
    action: str,
    organization_id: str,
    license_id: str,
    issuer: Issuer,
    details: dict[str, str] | None = None,
    expected_version: int | None = None,
) -> LicenseCommand:
    """Create, update or delete a license of an organization; `details` holds
    product_name, license_type, description and comment."""
    meta = envelope(license_id, organization_id, issuer, expected_version)
    if action == "delete":
        return DeleteLicense(meta)
    kind = CreateLicense if action == "create" else UpdateLicense
    return kind(meta, **(details or {}))
