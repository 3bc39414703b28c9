"""License reads through the real API against the real Redis, the views written by the
real projections and ViewWriter, as the licensing projectors write them: pages of
enriched licenses, history, and read-your-writes woken by the writes' notifications."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from uuid import uuid4

import httpx
import pytest
import pytest_asyncio

from api.reads import VIEW_BEHIND
from ostock.contract.records import Event
from ostock.settings import Settings
from ostock.views.client import redis_client
from ostock.views.keys import LICENSES, ORGANIZATION_COPIES
from ostock.views.writer import ViewWriter
from tests.projectors import project
from tests.records import ACME, AT, SEATS, license_event, organization_event

pytestmark = [pytest.mark.integration, pytest.mark.both_redis]


class Projection:
    """Writes events to Redis as the licensing projectors do: the organization copy, the
    license views with their index, and the licenses' histories."""

    def __init__(self, writer: ViewWriter) -> None:
        self.writer = writer

    async def apply(self, *records: Event) -> None:
        await project(self.writer, *records, models=(LICENSES, ORGANIZATION_COPIES))


@pytest_asyncio.fixture(loop_scope="function")
async def projection(redis_settings: Settings) -> AsyncIterator[Projection]:
    async with redis_client(redis_settings) as redis:
        yield Projection(ViewWriter(redis, redis_settings.redis_prefix))


async def test_pages_join_enriched_licenses_in_creation_order(
    client: httpx.AsyncClient, projection: Projection
) -> None:
    organization_id, ms = str(uuid4()), timedelta(milliseconds=1)
    license_ids = [str(uuid4()) for _ in range(5)]
    await projection.apply(
        organization_event("OrganizationCreated", organization_id, 1, AT, **ACME),
        *(
            # One millisecond apart: creation order is the index's order.
            license_event("LicenseCreated", organization_id, license_id, 1, AT + ms * n, **SEATS)
            for n, license_id in enumerate(license_ids)
        ),
    )
    path = f"/v1/organizations/{organization_id}/licenses"

    first = await client.get(path, params={"limit": 2})

    assert first.status_code == 200, first.text
    assert first.content.startswith(b'{"items":[{"license_id":"')
    page = first.json()
    assert list(page) == ["items", "total", "next_cursor", "limit"]
    assert (page["total"], page["limit"], len(page["items"])) == (5, 2, 2)
    assert page["items"][0]["organization_name"] == "Acme"  # joined when read
    assert page["items"][0]["contact_name"] == "Ada"
    seen, cursor = page["items"], page["next_cursor"]
    while cursor is not None:
        response = await client.get(path, params={"limit": 2, "cursor": cursor})
        page = response.json()
        seen, cursor = seen + page["items"], page["next_cursor"]
    assert [item["license_id"] for item in seen] == license_ids
    assert len(page["items"]) == 1  # the last page, next_cursor null

    malformed = await client.get(path, params={"cursor": "bm90LWEtY3Vyc29y"})
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["parameter"] == "cursor"

    revoked = license_ids[1]
    await projection.apply(license_event("LicenseDeleted", organization_id, revoked, 2))
    everything = (await client.get(path, params={"limit": 200})).json()
    assert [item["license_id"] for item in everything["items"]] == license_ids[:1] + license_ids[2:]
    assert everything["total"] == 4 and everything["next_cursor"] is None
    assert (await client.get(f"{path}/{revoked}")).status_code == 404


async def test_a_read_behind_min_version_is_409_then_served_once_projected(
    client: httpx.AsyncClient, projection: Projection, settings: Settings
) -> None:
    organization_id, license_id = str(uuid4()), str(uuid4())
    created = license_event("LicenseCreated", organization_id, license_id, 1, AT, **SEATS)
    await projection.apply(created)
    path = f"/v1/organizations/{organization_id}/licenses/{license_id}"

    behind = await client.get(path, params={"min_version": 2, "wait_s": 0.2})

    assert behind.status_code == 409, behind.text
    assert behind.headers["content-type"] == "application/problem+json"
    assert behind.headers["retry-after"] == "1"
    problem = behind.json()
    assert problem["type"] == VIEW_BEHIND
    assert (problem["view_version"], problem["min_version"]) == (1, 2)
    history = await client.get(f"{path}/events", params={"min_version": 2, "wait_s": 0.1})
    assert history.status_code == 409 and history.json()["view_version"] == 1

    # A read already waiting is woken by the write, well before its bound.
    waiting = asyncio.create_task(client.get(path, params={"min_version": 2}))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    updated = {**SEATS, "product_name": "Office 365"}
    await projection.apply(
        license_event("LicenseUpdated", organization_id, license_id, 2, AT, **updated)
    )
    response = await asyncio.wait_for(waiting, settings.read_wait_s - 1)

    assert response.status_code == 200, response.text
    view = response.json()
    assert (view["version"], view["product_name"]) == (2, "Office 365")
    assert view["organization_name"] is None  # no copy of its organization yet
    history = await client.get(f"{path}/events", params={"min_version": 2})
    entries = history.json()["events"]
    assert [(e["type"], e["version"]) for e in entries] == [
        ("LicenseCreated", 1),
        ("LicenseUpdated", 2),
    ]
