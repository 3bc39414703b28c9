"""Projections: decoded records in, the exact Redis writes out (no I/O)."""

from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from ostock.contract.records import (
    COMMANDS,
    EVENTS,
    ORGANIZATION_EVENTS,
    RESULTS,
    Command,
    CommandResult,
    Event,
    fields_of,
)
from ostock.views.command_status import decided_status, pending_status
from ostock.views.keys import LICENSES, ORGANIZATION_COPIES, ORGANIZATIONS, Keys
from ostock.views.models import READ_MODELS, Positioned
from ostock.views.projection import (
    HistoryEntries,
    HistoryEntry,
    ListedView,
    Projected,
    ViewUpdate,
    history_entry,
    iso,
    organization_view,
)
from tests import records
from tests.records import AT, CODEC

KEYS = Keys("ostock")
ORG = "0b3f7c1e-5a51-4d6f-9d0c-2f1b7e1f0a11"
ACME = records.ACME | {"website": "https://acme.example"}


def event(kind: str, version: int, at: datetime = AT, /, **details: str | None) -> Event:
    meta = {
        "event_id": f"event-{version}",
        "aggregate_id": ORG,
        "organization_id": ORG,
        "version": version,
        "occurred_at": at,
        "command_id": f"command-{version}",
        "correlation_id": "correlation",
        "issued_by": "ada",
    }
    return CODEC.read(
        CODEC.encode(f"ostock.organization.{kind}", {"meta": meta, **details}), EVENTS
    )


def test_created_sets_every_field_in_a_fixed_order() -> None:
    view = organization_view(event("OrganizationCreated", 1, **ACME))

    assert view.key == f"org:{{{ORG}}}"  # within a generation: ostock.lua says which
    assert view.version == 1
    assert view.body == (
        b'{"organization_id":"0b3f7c1e-5a51-4d6f-9d0c-2f1b7e1f0a11","name":"Acme",'
        b'"contact_name":"Ada","contact_email":"ada@acme.example","contact_phone":"+1 555 0100",'
        b'"website":"https://acme.example","status":"active","version":1,'
        b'"created_at":"2024-05-01T12:00:00.123Z","updated_at":"2024-05-01T12:00:00.123Z"}'
    )


def test_updated_carries_the_new_values_and_leaves_created_at_to_the_stored_view() -> None:
    later = AT + timedelta(hours=1)
    details = ACME | {"name": "Acme Ltd", "contact_phone": ""}
    view = organization_view(event("OrganizationUpdated", 2, later, **details))

    body = orjson.loads(view.body)
    assert view.version == 2
    assert body["name"] == "Acme Ltd"
    assert body["contact_phone"] == ""
    assert body["status"] == "active"
    # null is the function's cue to keep the stored created_at (ostock.lua).
    assert body["created_at"] is None
    assert body["updated_at"] == "2024-05-01T13:00:00.123Z"


def test_deleted_is_a_tombstone_with_the_same_shape() -> None:
    created = organization_view(event("OrganizationCreated", 1, **ACME))
    view = organization_view(event("OrganizationDeleted", 3))

    body = orjson.loads(view.body)
    assert view.version == 3
    assert list(body) == list(orjson.loads(created.body))
    assert body["organization_id"] == ORG
    assert body["status"] == "deleted"
    assert body["version"] == 3
    assert [body[field] for field in ACME] == [None] * len(ACME)


def test_every_projected_event_is_in_the_contract_and_projects_after_decoding() -> None:
    for name in ORGANIZATION_EVENTS.names:
        fields = fields_of(event("OrganizationCreated", 1, **ACME))
        if name.endswith("Deleted"):
            fields = {"meta": fields["meta"]}
        decoded = CODEC.read(CODEC.encode(name, fields), ORGANIZATION_EVENTS)
        assert organization_view(decoded).version == 1


def test_timestamps_are_utc_with_milliseconds() -> None:
    paris = timezone(timedelta(hours=2))
    assert iso(datetime(2024, 5, 1, 14, 0, tzinfo=paris)) == "2024-05-01T12:00:00.000Z"


def command(name: str = "CreateOrganization") -> Command:
    meta = {
        "command_id": "c-1",
        "aggregate_id": ORG,
        "organization_id": ORG,
        "expected_version": None,
        "issued_at": AT,
        "issued_by": "ada",
        "correlation_id": "correlation",
    }
    return CODEC.read(CODEC.encode(f"ostock.organization.{name}", {"meta": meta, **ACME}), COMMANDS)


def result(status: str, **outcome: Any) -> CommandResult:
    fields = {
        "command_id": "c-1",
        "status": status,
        "command_type": "ostock.organization.CreateOrganization",
        "aggregate_id": ORG,
        "organization_id": ORG,
        "version": None,
        "error_code": None,
        "error_message": None,
        "decided_at": AT + timedelta(seconds=1),
        "correlation_id": "correlation",
    }
    return CODEC.read(CODEC.encode("ostock.CommandResult", fields | outcome), RESULTS)


def test_a_command_seen_is_pending_until_its_ttl_from_issue() -> None:
    status = pending_status(command(), KEYS, ttl_s=3600)

    assert status.key == "ostock:cmd:{c-1}"
    assert status.state == "pending"
    assert status.expire_at == int(AT.timestamp()) + 3600
    assert status.body == (
        b'{"command_id":"c-1","status":"pending",'
        b'"command_type":"ostock.organization.CreateOrganization",'
        b'"aggregate_id":"0b3f7c1e-5a51-4d6f-9d0c-2f1b7e1f0a11",'
        b'"organization_id":"0b3f7c1e-5a51-4d6f-9d0c-2f1b7e1f0a11",'
        b'"version":null,"error_code":null,"error_message":null,"decided_at":null}'
    )


def test_an_accepted_result_carries_the_resulting_version() -> None:
    status = decided_status(result("accepted", version=1), KEYS, ttl_s=60)

    assert (status.key, status.state) == ("ostock:cmd:{c-1}", "accepted")
    assert status.expire_at == int(AT.timestamp()) + 1 + 60
    body = orjson.loads(status.body)
    assert (body["status"], body["version"], body["error_code"]) == ("accepted", 1, None)
    assert body["decided_at"] == "2024-05-01T12:00:01.123Z"


def test_a_rejected_result_carries_the_reason() -> None:
    rejected = result("rejected", error_code="version-conflict", error_message="expected 1")
    body = orjson.loads(decided_status(rejected, KEYS, ttl_s=60).body)

    assert list(body) == [
        "command_id",
        "status",
        "command_type",
        "aggregate_id",
        "organization_id",
        "version",
        "error_code",
        "error_message",
        "decided_at",
    ]
    assert (body["status"], body["version"]) == ("rejected", None)
    assert (body["error_code"], body["error_message"]) == ("version-conflict", "expected 1")


def test_a_history_entry_is_the_events_envelope_and_the_fields_it_carries() -> None:
    created = history_entry(event("OrganizationCreated", 1, **ACME))

    assert created == HistoryEntry(
        f"org-hist:{{{ORG}}}",
        1,
        b'{"type":"OrganizationCreated","version":1,"occurred_at":"2024-05-01T12:00:00.123Z",'
        b'"command_id":"command-1","issued_by":"ada","correlation_id":"correlation",'
        b'"changes":{"name":"Acme","contact_name":"Ada","contact_email":"ada@acme.example",'
        b'"contact_phone":"+1 555 0100","website":"https://acme.example"}}',
    )
    deleted = orjson.loads(history_entry(event("OrganizationDeleted", 3)).entry)
    assert (deleted["type"], deleted["version"], deleted["changes"]) == (
        "OrganizationDeleted",
        3,
        {},
    )


def test_each_write_is_its_name_keys_and_args_as_ostock_lua_takes_them() -> None:
    view = ViewUpdate("k", 2, b"{}")
    listed = ListedView("k", "index", 2, b"{}", entry="", listed=False)
    entry = HistoryEntry("h", 2, b"{}")
    entries = HistoryEntries("h", ((2, b"{2}"), (3, b"{3}")))

    assert view.part() == ("view", "k", 2, b"{}")
    assert listed.part() == ("listed", "k", "index", 2, b"{}", "", 0)
    assert entry.part() == ("history", "h", 2, b"{}")
    assert entries.part() == ("history", "h", 2, b"{2}", 3, b"{3}")


def test_each_event_is_projected_with_its_source_and_offset() -> None:
    created, deleted = event("OrganizationCreated", 1, **ACME), event("OrganizationDeleted", 2)
    log = [Positioned(created, "org-events", 2, 40), Positioned(deleted, "org-events", 2, 41)]

    projected = READ_MODELS[ORGANIZATIONS].project(log)

    assert projected == [
        Projected("org-events:2", 40, (organization_view(created), history_entry(created))),
        Projected("org-events:2", 41, (organization_view(deleted), history_entry(deleted))),
    ]


def test_full_keys_put_each_read_model_in_its_generation() -> None:
    live = Keys("ostock", {LICENSES: "g20240501", ORGANIZATION_COPIES: "snap-may"})

    # Organizations name no generation: the first one.
    assert live.organization(ORG) == f"ostock:g0:org:{{{ORG}}}"
    assert live.organization_history(ORG) == f"ostock:g0:org-hist:{{{ORG}}}"
    assert live.license(ORG, "l-1") == f"ostock:g20240501:lic:{{{ORG}}}:l-1"
    assert live.licenses_of(ORG) == f"ostock:g20240501:lics:{{{ORG}}}"
    assert live.license_history(ORG, "l-1") == f"ostock:g20240501:lic-hist:{{{ORG}}}:l-1"
    assert live.organization_copy(ORG) == f"ostock:snap-may:lic-org:{{{ORG}}}"
    # Command statuses and the saga's memory are no read model's: no generation.
    assert (live.command("c-1"), live.saga(ORG)) == ("ostock:cmd:{c-1}", f"ostock:saga:{{{ORG}}}")
