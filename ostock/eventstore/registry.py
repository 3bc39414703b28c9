"""Which Avro record each domain event is written as: data, not a chain of isinstance."""

from typing import Any

from ostock.contract import names
from ostock.domain.license import License
from ostock.domain.organization import Organization

_PAIRS: list[tuple[type[Any], type[Any], str]] = [
    (Organization.Created, Organization, names.ORGANIZATION_CREATED),
    (Organization.Updated, Organization, names.ORGANIZATION_UPDATED),
    (Organization.Deleted, Organization, names.ORGANIZATION_DELETED),
    (License.Created, License, names.LICENSE_CREATED),
    (License.Updated, License, names.LICENSE_UPDATED),
    (License.Deleted, License, names.LICENSE_DELETED),
]

EVENT_RECORDS: dict[type[Any], str] = {event: name for event, _, name in _PAIRS}
RECORD_EVENTS: dict[str, tuple[type[Any], type[Any]]] = {
    name: (event, aggregate) for event, aggregate, name in _PAIRS
}
