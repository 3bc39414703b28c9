"""Events as projectors get them from the codec, for tests of every layer."""

from datetime import UTC, datetime
from typing import Any

from ostock.contract import Codec
from ostock.contract.records import EVENTS, Event

AT = datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
ACME = {
    "name": "Acme",
    "contact_name": "Ada",
    "contact_email": "ada@acme.example",
    "contact_phone": "+1 555 0100",
}
SEATS = {"product_name": "Office", "license_type": "user", "description": "50 seats", "comment": ""}

CODEC = Codec()


def meta(organization_id: str, aggregate_id: str, version: int, at: datetime) -> dict[str, Any]:
    """An EventMeta; ids derived from the version."""
    return {
        "event_id": f"event-{version}",
        "aggregate_id": aggregate_id,
        "organization_id": organization_id,
        "version": version,
        "occurred_at": at,
        "command_id": f"command-{version}",
        "correlation_id": "correlation",
        "issued_by": "ada",
    }


def organization_event(
    kind: str, organization_id: str, version: int, at: datetime = AT, /, **details: str | None
) -> Event:
    """ostock.organization.<kind> of `organization_id` with `details` as its fields; a
    creation or update without a website has website None, as the codec decodes it."""
    fields: dict[str, Any] = {"meta": meta(organization_id, organization_id, version, at)}
    if kind != "OrganizationDeleted":
        fields["website"] = None
    return CODEC.read(CODEC.encode(f"ostock.organization.{kind}", fields | details), EVENTS)


def license_event(
    kind: str,
    organization_id: str,
    license_id: str,
    version: int,
    at: datetime = AT,
    /,
    **details: str,
) -> Event:
    """ostock.license.<kind> of `license_id` with `details` as its fields."""
    fields = {"meta": meta(organization_id, license_id, version, at), **details}
    return CODEC.read(CODEC.encode(f"ostock.license.{kind}", fields), EVENTS)
