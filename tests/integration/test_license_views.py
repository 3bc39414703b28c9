"""The licensing service's views on a real Redis: license views and their index, event
histories, the organization copy, written as the projectors write them (ViewWriter) and
read as the API reads them (ViewReader)."""

import random
from datetime import timedelta
from uuid import uuid4

import orjson
import pytest

from ostock.contract.records import Event
from ostock.views.client import RedisClient
from ostock.views.keys import Keys
from ostock.views.reader import Page, ViewReader
from ostock.views.writer import ViewWriter
from tests import projectors
from tests.records import ACME, AT, SEATS, license_event, organization_event

pytestmark = [pytest.mark.integration, pytest.mark.both_redis]

ORG = "org-1"


async def project(redis: RedisClient, keys: Keys, *events: Event) -> int:
    """Apply `events` as the projectors do: one batch per read model, views with their
    histories. Returns how many writes applied."""
    return await projectors.project(ViewWriter(redis, keys.base), *events)


def view(body: bytes | None) -> dict[str, object]:
    assert body is not None
    return dict(orjson.loads(body))


def ids(bodies: list[bytes]) -> list[object]:
    return [orjson.loads(body)["license_id"] for body in bodies]


async def test_a_license_enters_the_index_once_however_often_its_events_come(
    redis: RedisClient, keys: Keys, reader: ViewReader
) -> None:
    created = license_event("LicenseCreated", ORG, "lic-1", 1, **SEATS)
    updated = license_event("LicenseUpdated", ORG, "lic-1", 2, **SEATS | {"comment": "v2"})

    assert await project(redis, keys, created, created, updated) == 4
    assert await project(redis, keys, created, updated) == 0

    page = await reader.licenses(ORG, None, 10)
    assert (ids(page.items), page.total, page.next_cursor) == (["lic-1"], 1, None)
    assert view(page.items[0])["comment"] == "v2"
    assert await redis.zrange(keys.licenses_of(ORG), 0, -1) == [b"00001714564800123000:lic-1"]


async def test_a_deleted_license_leaves_the_index_and_stays_a_tombstone(
    redis: RedisClient, keys: Keys, reader: ViewReader
) -> None:
    created = license_event("LicenseCreated", ORG, "lic-1", 1, **SEATS)
    await project(redis, keys, created, license_event("LicenseCreated", ORG, "lic-2", 1, **SEATS))

    await project(redis, keys, license_event("LicenseDeleted", ORG, "lic-1", 2))
    # Replayed old events: the tombstone's version keeps them out.
    await project(redis, keys, created, license_event("LicenseUpdated", ORG, "lic-1", 2, **SEATS))

    tombstone = view(await reader.license(ORG, "lic-1"))
    assert (tombstone["status"], tombstone["version"], tombstone["product_name"]) == (
        "deleted",
        2,
        None,
    )
    assert tombstone["created_at"] == "2024-05-01T12:00:00.123Z"  # kept from the creation
    page = await reader.licenses(ORG, None, 10)
    assert (ids(page.items), page.total) == (["lic-2"], 1)
    assert await reader.version("license", ORG, "lic-1") == 2
    assert await reader.license(ORG, "nobody") is None


async def test_a_history_adds_each_version_once_and_never_an_older_one(
    redis: RedisClient, keys: Keys, reader: ViewReader
) -> None:
    created = license_event("LicenseCreated", ORG, "lic-1", 1, **SEATS)
    deleted = license_event("LicenseDeleted", ORG, "lic-1", 3)
    await project(redis, keys, created, created, deleted)

    # Version 2 arriving after 3 (a replay) adds nothing, as a view would ignore it.
    await project(redis, keys, license_event("LicenseUpdated", ORG, "lic-1", 2, **SEATS), deleted)

    history = [orjson.loads(entry) for entry in await reader.history(ORG, "lic-1")]
    assert [(e["type"], e["version"]) for e in history] == [
        ("LicenseCreated", 1),
        ("LicenseDeleted", 3),
    ]
    assert history[0]["changes"] == SEATS
    assert await reader.version("license_history", ORG, "lic-1") == 3
    assert await reader.history(ORG, "nobody") == []
    assert await reader.version("license_history", ORG, "nobody") == 0


async def test_the_organization_projection_writes_its_view_and_history_in_one_call(
    redis: RedisClient, keys: Keys, reader: ViewReader
) -> None:
    created = organization_event("OrganizationCreated", ORG, 1, **ACME)
    updated = organization_event("OrganizationUpdated", ORG, 2, **ACME | {"name": "Acme Ltd"})

    await project(redis, keys, created, updated, created)

    history = [orjson.loads(entry) for entry in await reader.history(ORG, ORG)]
    assert [(e["type"], e["changes"]["name"]) for e in history] == [
        ("OrganizationCreated", "Acme"),
        ("OrganizationUpdated", "Acme Ltd"),
    ]
    assert await reader.version("organization", ORG, ORG) == 2
    assert await reader.version("organization_history", ORG, ORG) == 2
    assert await reader.organization_version(ORG) == 2


async def test_licenses_are_enriched_when_read_with_the_latest_organization_copy(
    redis: RedisClient, keys: Keys, reader: ViewReader
) -> None:
    await project(redis, keys, license_event("LicenseCreated", ORG, "lic-1", 1, **SEATS))
    before = view(await reader.license(ORG, "lic-1"))
    assert [before[f] for f in ("organization_name", "contact_name")] == [None, None]

    await project(redis, keys, organization_event("OrganizationCreated", ORG, 1, **ACME))
    created = view(await reader.license(ORG, "lic-1"))
    await project(
        redis,
        keys,
        organization_event("OrganizationUpdated", ORG, 2, **ACME | {"name": "Acme Ltd"}),
    )
    updated = view(await reader.license(ORG, "lic-1"))
    listed = view((await reader.licenses(ORG, None, 10)).items[0])

    assert list(created)[-5:] == [
        "updated_at",
        "organization_name",
        "contact_name",
        "contact_email",
        "contact_phone",
    ]
    assert (created["organization_name"], created["contact_email"]) == ("Acme", "ada@acme.example")
    assert updated["organization_name"] == listed["organization_name"] == "Acme Ltd"
    assert updated["version"] == 1  # the license itself was not rewritten


async def test_pages_cover_every_license_once_in_creation_order(
    redis: RedisClient, keys: Keys, reader: ViewReader
) -> None:
    # 250 licenses created within a millisecond (two of them at the very same time),
    # applied in any order.
    licenses = [(AT + timedelta(microseconds=min(n, 248)), f"lic-{uuid4()}") for n in range(250)]
    events = [license_event("LicenseCreated", ORG, id_, 1, at, **SEATS) for at, id_ in licenses]
    random.Random(7).shuffle(events)
    await project(redis, keys, *events)

    seen: list[object] = []
    cursor = None
    pages = 0
    while True:
        page = await reader.licenses(ORG, cursor, 30)
        assert page.total == 250
        assert len(page.items) == (30 if page.next_cursor else 250 - 30 * pages)
        seen += ids(page.items)
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert pages == 9
    assert seen == [id_ for _, id_ in sorted(licenses)]


async def test_a_cursor_stays_valid_when_licenses_come_and_go(
    redis: RedisClient, keys: Keys, reader: ViewReader
) -> None:
    licenses = [f"lic-{n}" for n in range(6)]
    await project(
        redis,
        keys,
        *(
            license_event("LicenseCreated", ORG, id_, 1, AT + timedelta(seconds=n), **SEATS)
            for n, id_ in enumerate(licenses)
        ),
    )
    first = await reader.licenses(ORG, None, 3)

    # The last license of the first page goes, a new one comes: the next page is unaffected.
    await project(
        redis,
        keys,
        license_event("LicenseDeleted", ORG, "lic-2", 2, AT + timedelta(hours=1)),
        license_event("LicenseCreated", ORG, "lic-6", 1, AT + timedelta(hours=1), **SEATS),
    )
    second = await reader.licenses(ORG, first.next_cursor, 3)
    third = await reader.licenses(ORG, second.next_cursor, 3)

    assert ids(first.items) == ["lic-0", "lic-1", "lic-2"]
    assert (ids(second.items), second.total) == (["lic-3", "lic-4", "lic-5"], 6)
    assert (ids(third.items), third.next_cursor) == (["lic-6"], None)


async def test_an_organization_without_licenses_has_an_empty_page(reader: ViewReader) -> None:
    assert await reader.licenses("nobody", None, 10) == Page([], 0, None)


@pytest.mark.parametrize("cursor", ["not-a-cursor", "MjAyNA", "é"])
async def test_a_malformed_cursor_or_limit_is_a_value_error(
    reader: ViewReader, cursor: str
) -> None:
    with pytest.raises(ValueError):
        await reader.licenses(ORG, cursor, 10)
    with pytest.raises(ValueError):
        await reader.licenses(ORG, None, 0)
