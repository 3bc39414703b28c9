"""The saga's stream glue without Kafka or Redis: events routed to the decisions, and the
memory stored as facts."""

from datetime import UTC, datetime

from ostock.contract import Codec
from ostock.contract.records import EVENTS, Event, EventMeta, name_of
from ostock.sagas.cascade_delete import OrganizationMemory, cascade_command_id
from streams.saga_memory import memory_of, new_facts
from streams.saga_reactions import Tracked, concerned, react

ORG = "org-1"
AT = datetime(2024, 5, 1, 12, tzinfo=UTC)
DETAILS: dict[str, dict[str, str]] = {
    "ostock.organization.OrganizationCreated": {"name": "Acme"},
    "ostock.organization.OrganizationUpdated": {"name": "Acme"},
    "ostock.license.LicenseCreated": {"product_name": "Office", "license_type": "user"},
}

CODEC = Codec()


def event(name: str, aggregate_id: str, event_id: str = "event-1") -> Event:
    meta = EventMeta(event_id, aggregate_id, ORG, 1, AT, "command-1", "corr-1", "ada")
    return CODEC.read(CODEC.encode(name, {"meta": meta._asdict(), **DETAILS.get(name, {})}), EVENTS)


def created(license_id: str) -> Event:
    return event("ostock.license.LicenseCreated", license_id)


def deleted(license_id: str) -> Event:
    return event("ostock.license.LicenseDeleted", license_id)


ORGANIZATION_DELETED = event("ostock.organization.OrganizationDeleted", ORG, "deletion")


def test_a_batch_is_decided_in_order_over_the_organizations_memory() -> None:
    batch = [
        event("ostock.organization.OrganizationCreated", ORG),
        created("lic-a"),
        created("lic-b"),
        deleted("lic-a"),
        ORGANIZATION_DELETED,
    ]
    tracked = {ORG: Tracked(OrganizationMemory())}
    commands = react(tracked, batch)
    assert [(name_of(c), c.meta.aggregate_id) for c in commands] == [
        ("ostock.license.DeleteLicense", "lic-b")
    ]
    assert commands[0].meta.command_id == cascade_command_id("deletion", "lic-b")
    assert tracked[ORG].now == OrganizationMemory(frozenset({"lic-b"}), "deletion", "corr-1")
    assert tracked[ORG].seen == {"lic-a", "lic-b"}


def test_events_without_a_reaction_concern_no_memory() -> None:
    updated = event("ostock.organization.OrganizationUpdated", ORG)
    assert concerned([updated]) == set()
    assert concerned([updated, created("lic-a")]) == {ORG}
    assert react({}, [updated]) == []


def test_a_redelivered_batch_issues_only_what_a_license_created_late_needs() -> None:
    tracked = {ORG: Tracked(OrganizationMemory())}
    first = react(tracked, [created("lic-a"), ORGANIZATION_DELETED])
    again = react(tracked, [ORGANIZATION_DELETED, created("lic-a")])
    # The deletion issues nothing twice; the license seen again gets the same command id.
    assert [c.meta.command_id for c in again] == [c.meta.command_id for c in first]


def stored_after(stored: dict[str, str], batch: list[Event]) -> dict[str, str]:
    """The facts stored once `batch` is applied over `stored` (HSET, HSETNX)."""
    tracked = Tracked(memory_of(stored))
    react({ORG: tracked}, batch)
    facts, deletion = new_facts(tracked)
    return (
        stored
        | {str(k): str(v) for k, v in facts.items()}
        | {str(k): str(v) for k, v in deletion.items() if str(k) not in stored}
    )


def test_the_facts_stored_add_up_to_the_memory() -> None:
    stored = stored_after({}, [created("a"), created("b"), created("c"), deleted("c")])
    assert stored == {"created:a": "1", "created:b": "1", "created:c": "1", "removed:c": "1"}
    stored = stored_after(stored, [deleted("a"), ORGANIZATION_DELETED])
    assert memory_of(stored) == OrganizationMemory(frozenset({"b"}), "deletion", "corr-1")
    assert stored_after(stored, [ORGANIZATION_DELETED]) == stored
    assert memory_of({}) == OrganizationMemory()


def test_a_late_store_of_an_older_batch_takes_nothing_back() -> None:
    # A worker that lost the partition stores what it decided after its successor did.
    start: dict[str, str] = stored_after({}, [created("a")])
    successor = stored_after(start, [created("b"), deleted("a"), created("c")])
    late = stored_after(start, [created("b")])
    merged = successor | late
    assert memory_of(merged) == memory_of(successor) == OrganizationMemory(frozenset({"b", "c"}))
