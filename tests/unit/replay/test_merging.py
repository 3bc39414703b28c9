"""A replay's batch merged aggregate by aggregate (ostock.replay.merging): decoded records in
log order in, one view write and one history write per aggregate out (no I/O)."""

from datetime import timedelta

from ostock.contract.records import Event
from ostock.replay.merging import BatchMerge, Merge
from ostock.views.keys import LICENSES, ORGANIZATION_COPIES, ORGANIZATIONS
from ostock.views.licensing import license_view, organization_copy
from ostock.views.models import READ_MODELS
from ostock.views.projection import (
    HistoryEntries,
    ListedView,
    Projected,
    ViewUpdate,
    history_entry,
    history_json,
    organization_view,
)
from tests.records import ACME, AT, SEATS, license_event, organization_event

ORG, OTHER = "org-1", "org-2"
TOPIC = "org-events"


def merged(model: str, *records: Event, partition: int = 0, first: int = 10) -> list[Projected]:
    """`records` read from one partition at offsets from `first`, merged for `model`."""
    merge = Merge(READ_MODELS[model])
    for offset, record in enumerate(records, start=first):
        merge.add(record, TOPIC, partition, offset)
    return merge.projected()


def entries(*records: Event) -> HistoryEntries:
    """The history write of `records`, one aggregate's, in order."""
    return HistoryEntries(
        history_entry(records[0]).key,
        tuple((history_entry(r).version, history_json(r)) for r in records),
    )


def test_an_aggregates_events_become_its_newest_view_and_all_its_entries() -> None:
    created = organization_event("OrganizationCreated", ORG, 1, **ACME)
    later = AT + timedelta(hours=1)
    renamed = organization_event("OrganizationUpdated", ORG, 2, later, **ACME | {"name": "B"})

    (projected,) = merged(ORGANIZATIONS, created, renamed)

    assert projected == Projected(
        f"{TOPIC}:0",
        11,  # the last event's offset
        (organization_view(renamed, AT), entries(created, renamed)),
    )
    # The view is the update's, with the creation's created_at instead of null.
    view = projected.writes[0]
    assert isinstance(view, ViewUpdate)
    assert b'"name":"B"' in view.body
    assert b'"created_at":"2024-05-01T12:00:00.123Z"' in view.body


def test_without_its_creation_an_update_leaves_created_at_to_the_stored_view() -> None:
    updated = organization_event("OrganizationUpdated", ORG, 2, **ACME)

    ((view, _),) = (projected.writes for projected in merged(ORGANIZATIONS, updated))

    assert view == organization_view(updated)
    assert isinstance(view, ViewUpdate)
    assert b'"created_at":null' in view.body


def test_a_license_created_and_deleted_in_one_batch_keeps_its_entry_and_is_unlisted() -> None:
    created = license_event("LicenseCreated", ORG, "lic-1", 1, **SEATS)
    deleted = license_event("LicenseDeleted", ORG, "lic-1", 2, AT + timedelta(minutes=5))

    ((view, history),) = (projected.writes for projected in merged(LICENSES, created, deleted))

    assert isinstance(view, ListedView)
    assert view == license_view(deleted, AT)
    assert (view.entry, view.listed) == (license_view(created).entry, False)
    assert b'"status":"deleted"' in view.body
    assert history == entries(created, deleted)


def test_aggregates_come_in_the_order_of_their_last_events() -> None:
    a1 = organization_event("OrganizationCreated", ORG, 1, **ACME)
    b1 = organization_event("OrganizationCreated", OTHER, 1, **ACME)
    a2 = organization_event("OrganizationUpdated", ORG, 2, **ACME)
    b2 = organization_event("OrganizationUpdated", OTHER, 2, **ACME)
    c1 = organization_event("OrganizationCreated", "org-3", 1, **ACME)

    projected = merged(ORGANIZATION_COPIES, a1, b1, a2, c1, b2)

    assert [(p.offset, p.writes) for p in projected] == [
        (12, (organization_copy(a2),)),
        (13, (organization_copy(c1),)),
        (14, (organization_copy(b2),)),
    ]


def test_an_event_that_does_not_advance_its_aggregate_is_left_out_but_read() -> None:
    created = organization_event("OrganizationCreated", ORG, 1, **ACME)
    updated = organization_event("OrganizationUpdated", ORG, 2, **ACME)
    late = organization_event("OrganizationUpdated", ORG, 1, **ACME | {"name": "late"})

    (projected,) = merged(ORGANIZATIONS, created, updated, updated, late)

    assert projected.offset == 13
    assert projected.writes == (organization_view(updated, AT), entries(created, updated))


def test_the_same_aggregate_in_two_partitions_is_merged_apart() -> None:
    merge = Merge(READ_MODELS[ORGANIZATION_COPIES])
    first = organization_event("OrganizationCreated", ORG, 1, **ACME)
    second = organization_event("OrganizationUpdated", ORG, 2, **ACME)
    merge.add(first, TOPIC, 0, 5)
    merge.add(second, TOPIC, 1, 3)

    assert [(p.source, p.offset) for p in merge.projected()] == [
        (f"{TOPIC}:0", 5),
        (f"{TOPIC}:1", 3),
    ]


def test_a_batch_goes_to_each_model_that_takes_its_records() -> None:
    models = [(READ_MODELS[name], topic) for name, topic in _TOPICS.items()]
    batch = BatchMerge(models)
    organization = organization_event("OrganizationCreated", ORG, 1, **ACME)
    license = license_event("LicenseCreated", ORG, "lic-1", 1, **SEATS)

    batch.add(organization, "org-events", 0, 1)
    batch.add(license, "license-events", 0, 1)
    batch.add(license, "org-events", 0, 2)  # not on its model's topic: nobody takes it

    assert [(name, len(projected)) for name, projected in batch.projected()] == [
        (ORGANIZATIONS, 1),
        (LICENSES, 1),
        (ORGANIZATION_COPIES, 1),
    ]


_TOPICS = {
    ORGANIZATIONS: "org-events",
    LICENSES: "license-events",
    ORGANIZATION_COPIES: "org-events",
}
