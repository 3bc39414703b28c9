"""Pages of an organization's licenses: the stored items joined as they are, the cursor
followed to the end, the limit bounded."""

from uuid import uuid4

import httpx
import orjson
import pytest

from tests.unit.api.assertions import problem
from tests.unit.api.fakes import FakeViews


@pytest.fixture
def organization_id(views: FakeViews) -> str:
    """An organization with five licenses in the index; bodies with odd spacing, as stored."""
    organization_id = str(uuid4())
    views.license_index[organization_id] = [
        b'{"license_id": "%d", "product_name": "P\\u00e9"}' % n for n in range(5)
    ]
    return organization_id


async def test_pages_join_the_stored_items_and_lead_to_the_end(
    client: httpx.AsyncClient, views: FakeViews, organization_id: str
) -> None:
    path = f"/v1/organizations/{organization_id}/licenses"
    first = await client.get(path, params={"limit": 2})

    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "application/json"
    stored = views.license_index[organization_id]
    assert first.content.startswith(b'{"items":[' + stored[0] + b"," + stored[1] + b"],")
    page = first.json()
    assert list(page) == ["items", "total", "next_cursor", "limit"]
    assert page["total"] == 5 and page["limit"] == 2
    assert [item["license_id"] for item in page["items"]] == ["0", "1"]

    seen, cursor = page["items"], page["next_cursor"]
    while cursor is not None:
        page = (await client.get(path, params={"limit": 2, "cursor": cursor})).json()
        seen, cursor = seen + page["items"], page["next_cursor"]
    assert [orjson.dumps(item) for item in seen] == [orjson.dumps(orjson.loads(s)) for s in stored]
    assert len(page["items"]) == 1


async def test_an_organization_without_licenses_has_an_empty_page(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(f"/v1/organizations/{uuid4()}/licenses")

    assert response.json() == {"items": [], "total": 0, "next_cursor": None, "limit": 50}


async def test_the_limit_defaults_to_50(
    client: httpx.AsyncClient, views: FakeViews, organization_id: str
) -> None:
    views.license_index[organization_id] *= 20  # 100 items
    page = (await client.get(f"/v1/organizations/{organization_id}/licenses")).json()

    assert page["limit"] == 50 and len(page["items"]) == 50 and page["next_cursor"]


@pytest.mark.parametrize("limit", [1, 200])
async def test_limits_within_bounds_are_served(
    client: httpx.AsyncClient, organization_id: str, limit: int
) -> None:
    response = await client.get(
        f"/v1/organizations/{organization_id}/licenses", params={"limit": limit}
    )

    assert response.status_code == 200 and response.json()["limit"] == limit


@pytest.mark.parametrize("limit", ["0", "201", "-1", "ten"])
async def test_limits_out_of_bounds_are_refused(
    client: httpx.AsyncClient, organization_id: str, limit: str
) -> None:
    response = await client.get(
        f"/v1/organizations/{organization_id}/licenses", params={"limit": limit}
    )

    assert problem(response, 422)["errors"][0]["parameter"] == "limit"


async def test_a_malformed_cursor_is_refused(
    client: httpx.AsyncClient, organization_id: str
) -> None:
    response = await client.get(
        f"/v1/organizations/{organization_id}/licenses", params={"cursor": "not-a-cursor"}
    )

    body = problem(response, 422)
    assert body["errors"][0]["parameter"] == "cursor"
    assert "not-a-cursor" not in response.text  # not echoed back
