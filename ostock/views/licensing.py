"""The licensing service's views: licenses, their index by organization, its own copy of
organizations, and the enrichment that joins them when a license is read.

The join happens at read time, so an organization's change shows in all its licenses at
once, with no license rewritten.
"""

import re
from base64 import urlsafe_b64decode, urlsafe_b64encode
from datetime import UTC, datetime, timedelta
from typing import TypeGuard

import orjson

from ostock.contract.records import Event, LicenseCreated, LicenseDeleted, LicenseUpdated
from ostock.views import keys
from ostock.views.projection import (
    CREATED,
    DELETED,
    ORGANIZATION_CHANGES,
    ORGANIZATION_DETAILS,
    UPDATED,
    Change,
    ListedView,
    ViewUpdate,
    view_body,
)

LICENSE_DETAILS = ("product_name", "license_type", "description", "comment")
LICENSE_CHANGES: dict[type[Event], Change] = {
    LicenseCreated: CREATED,
    LicenseUpdated: UPDATED,
    LicenseDeleted: DELETED,
}

#: The fields a license gains when read, each from a field of its organization's copy.
ENRICHMENT = {
    "organization_name": "name",
    "contact_name": "contact_name",
    "contact_email": "contact_email",
    "contact_phone": "contact_phone",
}

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# An index entry: the license's creation time in microseconds since the epoch, zero-padded
# so that entries sort by it (creation order; the id breaks a tie), ":", its id.
_MICROS_DIGITS = 20
_ENTRY = re.compile(rb"\d{%d}:[^:\s]+" % _MICROS_DIGITS)
# Inside a JSON string every quote is escaped: only the field itself matches.
_DELETED = b'"status":"deleted"'


def license_view(event: Event, created_at: datetime | None = None) -> ListedView:
    """The license view after `event` (a license event), listed in its organization's
    index unless deleted; a deletion leaves a tombstone, as for organizations. `created_at`:
    when the license was created, if known although `event` is not the creation (as for
    view_body); it gives the view its entry in the index too."""
    meta = event.meta
    organization_id, license_id = meta.organization_id, meta.aggregate_id
    head = {"license_id": license_id, "organization_id": organization_id}
    change = LICENSE_CHANGES[type(event)]
    created = meta.occurred_at if change.created else created_at
    return ListedView(
        keys.license(organization_id, license_id),
        keys.licenses_of(organization_id),
        meta.version,
        view_body(head, LICENSE_DETAILS, event, change, created_at),
        "" if created is None else index_entry(created, license_id),
        change.status == "active",
    )


def index_entry(created_at: datetime, license_id: str) -> str:
    """A license's member in its organization's index: creation order, then its id."""
    micros = (created_at - _EPOCH) // _MICROSECOND
    return "%0*d:%s" % (_MICROS_DIGITS, micros, license_id)  # noqa: UP031 (a third cheaper)


def organization_copy(event: Event) -> ViewUpdate:
    """The licensing service's copy of an organization after `event` (an organization event):
    its details and status, details null once deleted."""
    meta = event.meta
    change = ORGANIZATION_CHANGES[type(event)]
    copy: dict[str, object] = {
        field: getattr(event, field) if change.details else None for field in ORGANIZATION_DETAILS
    }
    copy["status"] = change.status
    key = keys.organization_copy(meta.organization_id)
    return ViewUpdate(key, meta.version, orjson.dumps(copy))


def enrichment(copy: bytes | None) -> bytes:
    """The ENRICHMENT fields as a JSON object, from an organization copy (null without one)."""
    organization = {} if copy is None else orjson.loads(copy)
    return orjson.dumps({field: organization.get(source) for field, source in ENRICHMENT.items()})


def enriched(license: bytes, enrichment: bytes) -> bytes:
    """A license body with the enrichment's fields appended after its own: spliced, not
    re-encoded, so the stored field order stays."""
    return license[:-1] + b"," + enrichment[1:]


def listed(license: bytes | None) -> TypeGuard[bytes]:
    """Whether a stored license body is there and not a tombstone."""
    return license is not None and _DELETED not in license


def license_id_of(entry: bytes) -> str:
    """The license id of an index entry."""
    return entry.split(b":", 1)[1].decode()


def cursor_after(entry: bytes) -> str:
    """The opaque cursor of the page that starts after index entry `entry`."""
    return urlsafe_b64encode(entry).rstrip(b"=").decode()


def entry_of(cursor: str) -> bytes:
    """The index entry a cursor starts after; ValueError unless cursor_after made it."""
    entry = urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    if not _ENTRY.fullmatch(entry):
        raise ValueError(f"not a cursor: {cursor!r}")
    return entry
