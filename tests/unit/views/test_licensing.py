"""The licensing service's views: license events and organization events in, the exact
Redis writes out; enrichment and cursors as the reader applies them (no I/O)."""

from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest

from ostock.contract import Codec
from ostock.contract.records import EVENTS, LICENSE_EVENTS, ORGANIZATION_EVENTS, Event
from ostock.views.licensing import (
    ENRICHMENT,
    cursor_after,
    enriched,
    enrichment,
    entry_of,
    license_id_of,
    license_view,
    listed,
    organization_copy,
)
from ostock.views.projection import history_entry
from tests import records
from tests.records import ACME, AT, SEATS

ORG = "0b3f7c1e-5a51-4d6f-9d0c-2f1b7e1f0a11"
LICENSE = "7d9b2a4c-1e3f-4a5b-8c6d-0e1f2a3b4c5d"


def license_event(kind: str, version: int, at: datetime = AT, /, **details: str) -> Event:
    return records.license_event(kind, ORG, LICENSE, version, at, **details)


def organization_event(kind: str, version: int, /, **details: str) -> Event:
    return records.organization_event(kind, ORG, version, **details)


def test_a_created_license_is_listed_and_has_every_field_in_a_fixed_order() -> None:
    view = license_view(license_event("LicenseCreated", 1, **SEATS))

    # Keys within a generation: ostock.lua says which.
    assert view.key == f"lic:{{{ORG}}}:{LICENSE}"
    assert view.index_key == f"lics:{{{ORG}}}"
    assert (view.version, view.listed) == (1, True)
    # 2024-05-01T12:00:00.123Z in microseconds since the epoch, zero-padded.
    assert view.entry == f"00001714564800123000:{LICENSE}"
    assert view.body == (
        b'{"license_id":"7d9b2a4c-1e3f-4a5b-8c6d-0e1f2a3b4c5d",'
        b'"organization_id":"0b3f7c1e-5a51-4d6f-9d0c-2f1b7e1f0a11",'
        b'"product_name":"Office","license_type":"user","description":"50 seats","comment":"",'
        b'"status":"active","version":1,'
        b'"created_at":"2024-05-01T12:00:00.123Z","updated_at":"2024-05-01T12:00:00.123Z"}'
    )


def test_an_updated_license_stays_listed_and_leaves_created_at_to_the_stored_view() -> None:
    later = AT + timedelta(hours=1)
    details = SEATS | {"comment": "renewed"}
    view = license_view(license_event("LicenseUpdated", 2, later, **details))

    body = orjson.loads(view.body)
    assert (view.version, view.entry, view.listed) == (2, "", True)
    assert (body["comment"], body["status"], body["created_at"]) == ("renewed", "active", None)
    assert body["updated_at"] == "2024-05-01T13:00:00.123Z"


def test_a_deleted_license_is_an_unlisted_tombstone_with_the_same_shape() -> None:
    created = license_view(license_event("LicenseCreated", 1, **SEATS))
    view = license_view(license_event("LicenseDeleted", 3))

    body = orjson.loads(view.body)
    assert (view.version, view.entry, view.listed) == (3, "", False)
    assert list(body) == list(orjson.loads(created.body))
    assert (body["license_id"], body["status"], body["version"]) == (LICENSE, "deleted", 3)
    assert [body[field] for field in SEATS] == [None] * len(SEATS)


def test_the_organization_copy_holds_the_details_and_the_status() -> None:
    copy = organization_copy(organization_event("OrganizationCreated", 1, **ACME))
    deleted = organization_copy(organization_event("OrganizationDeleted", 2))

    assert (copy.key, copy.version) == (f"lic-org:{{{ORG}}}", 1)
    assert copy.body == (
        b'{"name":"Acme","contact_name":"Ada","contact_email":"ada@acme.example",'
        b'"contact_phone":"+1 555 0100","website":null,"status":"active"}'
    )
    assert orjson.loads(deleted.body) == dict.fromkeys([*ACME, "website"]) | {"status": "deleted"}


def test_a_license_history_entry_is_keyed_by_the_license() -> None:
    entry = history_entry(license_event("LicenseUpdated", 2, **SEATS))

    assert (entry.key, entry.version) == (f"lic-hist:{{{ORG}}}:{LICENSE}", 2)
    assert orjson.loads(entry.entry) == {
        "type": "LicenseUpdated",
        "version": 2,
        "occurred_at": "2024-05-01T12:00:00.123Z",
        "command_id": "command-2",
        "issued_by": "ada",
        "correlation_id": "correlation",
        "changes": SEATS,
    }


def test_every_projected_event_is_in_the_contract_and_projects_after_decoding() -> None:
    codec = Codec()
    for name in LICENSE_EVENTS.names | ORGANIZATION_EVENTS.names:
        details = SEATS if ".license." in name else ACME
        fields: dict[str, Any] = {"meta": records.meta(ORG, LICENSE, 1, AT)}
        if not name.endswith("Deleted"):
            fields |= details
        decoded = codec.read(codec.encode(name, fields), EVENTS)
        project = license_view if name in LICENSE_EVENTS.names else organization_copy
        assert project(decoded).version == 1
        assert history_entry(decoded).version == 1


def test_a_read_appends_the_organization_copy_after_the_license_fields() -> None:
    body = license_view(license_event("LicenseCreated", 1, **SEATS)).body
    copy = organization_copy(organization_event("OrganizationCreated", 1, **ACME)).body

    view = orjson.loads(enriched(body, enrichment(copy)))

    assert list(view) == [*orjson.loads(body), *ENRICHMENT]
    assert view["organization_name"] == "Acme"
    assert (view["contact_name"], view["contact_email"]) == ("Ada", "ada@acme.example")
    assert view["contact_phone"] == "+1 555 0100"


def test_without_a_copy_the_organization_fields_are_null() -> None:
    body = license_view(license_event("LicenseCreated", 1, **SEATS)).body

    view = orjson.loads(enriched(body, enrichment(None)))

    assert [view[field] for field in ENRICHMENT] == [None] * len(ENRICHMENT)


def test_a_tombstone_is_not_listed() -> None:
    active = license_view(license_event("LicenseCreated", 1, **SEATS)).body
    tombstone = license_view(license_event("LicenseDeleted", 2)).body
    looks_deleted = license_view(
        license_event("LicenseCreated", 1, **SEATS | {"comment": '"status":"deleted"'})
    ).body

    assert [listed(b) for b in (active, tombstone, looks_deleted, None)] == [
        True,
        False,
        True,
        False,
    ]


def test_index_entries_sort_in_creation_order_to_the_microsecond() -> None:
    times = [AT, AT + timedelta(microseconds=1), AT + timedelta(days=1), AT - timedelta(days=999)]
    entries = [license_view(license_event("LicenseCreated", 1, at, **SEATS)).entry for at in times]

    assert sorted(entries) == [entries[3], entries[0], entries[1], entries[2]]


def test_a_cursor_is_an_opaque_index_entry() -> None:
    entry = f"00001714564800123000:{LICENSE}".encode()

    cursor = cursor_after(entry)

    assert ":" not in cursor and "=" not in cursor
    assert entry_of(cursor) == entry
    assert license_id_of(entry) == LICENSE


@pytest.mark.parametrize(
    "cursor",
    ["", "x", "!!!!", "été", cursor_after(b"1714564800123000:nope"), cursor_after(b"\xff\xfe")],
)
def test_a_malformed_cursor_is_a_value_error(cursor: str) -> None:
    with pytest.raises(ValueError):
        entry_of(cursor)
