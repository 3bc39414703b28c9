"""Which Avro record each domain event is written as: data, not a chain of isinstance."""

from typing import Any

from ostock.domain.license import License
from ostock.domain.organization import Organization

_PAIRS: list[tuple[type[Any], type[Any], str]] = [
    (Organization.Created, Organization, "ostock.organization.OrganizationCreated"),
    (Organization.Updated, Organization, "ostock.organization.OrganizationUpdated"),
    (Organization.Deleted, Organization, "ostock.organization.OrganizationDeleted"),
    (License.Created, License, "ostock.license.LicenseCreated"),
    (License.Updated, License, "ostock.license.LicenseUpdated"),
    (License.Deleted, License, "ostock.license.LicenseDeleted"),
]

EVENT_RECORDS: dict[type[Any], str] = {event: name for event, _, name in _PAIRS}
RECORD_EVENTS: dict[str, tuple[type[Any], type[Any]]] = {
    name: (event, aggregate) for event, aggregate, name in _PAIRS
}
