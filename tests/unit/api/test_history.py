"""Histories: the stored entries, in version order, joined into one body."""

from uuid import uuid4

import httpx
import orjson

from tests.unit.api.assertions import problem
from tests.unit.api.fakes import FakeViews


def entry(kind: str, version: int, **changes: str) -> bytes:
    return orjson.dumps(
        {
            "type": kind,
            "version": version,
            "occurred_at": "2026-11-25T07:00:00.000Z",
            "command_id": str(uuid4()),
            "issued_by": "ada (f6c1a5e0-0000-4000-8000-000000000001)",
            "correlation_id": "c-1",
            "changes": changes,
        }
    )


async def test_an_organizations_history_is_served_in_version_order(
    client: httpx.AsyncClient, views: FakeViews
) -> None:
    organization_id = str(uuid4())
    entries = [
        entry("OrganizationCreated", 1, name="Acme"),
        entry("OrganizationUpdated", 2, name="Acme Ltd"),
        entry("OrganizationDeleted", 3),
    ]
    views.histories[(organization_id, organization_id)] = entries

    response = await client.get(f"/v1/organizations/{organization_id}/events")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.content == b'{"events":[' + b",".join(entries) + b"]}"
    assert [e["version"] for e in response.json()["events"]] == [1, 2, 3]


async def test_a_licenses_history_is_served(client: httpx.AsyncClient, views: FakeViews) -> None:
    organization_id, license_id = str(uuid4()), str(uuid4())
    entries = [entry("LicenseCreated", 1, product_name="Office"), entry("LicenseDeleted", 2)]
    views.histories[(organization_id, license_id)] = entries

    path = f"/v1/organizations/{organization_id}/licenses/{license_id}/events"
    body = (await client.get(path)).json()

    assert [e["type"] for e in body["events"]] == ["LicenseCreated", "LicenseDeleted"]
    assert body["events"][0]["changes"] == {"product_name": "Office"}


async def test_no_history_at_all_is_not_found(client: httpx.AsyncClient, views: FakeViews) -> None:
    organization_id = str(uuid4())
    # The organization's history does not stand in for one of its licenses.
    views.histories[(organization_id, organization_id)] = [entry("OrganizationCreated", 1)]

    problem(await client.get(f"/v1/organizations/{uuid4()}/events"), 404)
    path = f"/v1/organizations/{organization_id}/licenses/{uuid4()}/events"
    problem(await client.get(path), 404)
