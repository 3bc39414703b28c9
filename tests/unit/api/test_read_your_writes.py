"""?min_version=N on every view read: served once the view holds N, waiting (bounded)
when it does not yet; a 409 with where the view stands when the bound passes first."""

import asyncio
import time
from uuid import uuid4

import httpx
import orjson
import pytest
from fastapi import FastAPI

from api.reads import VIEW_BEHIND
from ostock.views.reader import ViewName
from tests.unit.api.assertions import problem
from tests.unit.api.fakes import FakeViews

ORGANIZATION, LICENSE = str(uuid4()), str(uuid4())
ORGANIZATION_PATH = f"/v1/organizations/{ORGANIZATION}"
LICENSE_PATH = f"{ORGANIZATION_PATH}/licenses/{LICENSE}"
READS = [
    pytest.param(view, path, aggregate, id=view)
    for view, path, aggregate in [
        ("organization", ORGANIZATION_PATH, ORGANIZATION),
        ("license", LICENSE_PATH, LICENSE),
        ("organization_history", f"{ORGANIZATION_PATH}/events", ORGANIZATION),
        ("license_history", f"{LICENSE_PATH}/events", LICENSE),
    ]
]


def store(views: FakeViews, view: ViewName, version: int) -> bytes:
    """Put a body of `version` where `view` reads it; the body the client should get."""
    body = orjson.dumps({"status": "active", "version": version})
    if view == "organization":
        views.organizations[ORGANIZATION] = body
    elif view == "license":
        views.license_views[(ORGANIZATION, LICENSE)] = body
    else:
        aggregate = ORGANIZATION if view == "organization_history" else LICENSE
        entries = views.histories.setdefault((ORGANIZATION, aggregate), [])
        entries.append(body)
        return b'{"events":[' + b",".join(entries) + b"]}"
    return body


@pytest.mark.parametrize(("view", "path", "aggregate"), READS)
async def test_a_view_that_holds_the_version_is_served_at_once(
    client: httpx.AsyncClient, views: FakeViews, view: ViewName, path: str, aggregate: str
) -> None:
    expected = store(views, view, 3)
    await views.reach(view, ORGANIZATION, aggregate, 3)

    response = await client.get(path, params={"min_version": 2})

    assert response.status_code == 200, response.text
    assert response.content == expected
    assert views.waits == [(view, ORGANIZATION, aggregate, 2, 5.0)]  # read_wait_s


@pytest.mark.parametrize(("view", "path", "aggregate"), READS)
async def test_a_read_waits_for_the_projector_to_reach_the_version(
    client: httpx.AsyncClient, views: FakeViews, view: ViewName, path: str, aggregate: str
) -> None:
    store(views, view, 1)
    await views.reach(view, ORGANIZATION, aggregate, 1)

    async def project_version_2() -> bytes:
        await asyncio.sleep(0.05)
        expected = store(views, view, 2)
        await views.reach(view, ORGANIZATION, aggregate, 2)
        return expected

    projector = asyncio.create_task(project_version_2())
    response = await client.get(path, params={"min_version": 2})

    assert response.status_code == 200, response.text
    assert response.content == await projector


@pytest.mark.parametrize(("view", "path", "aggregate"), READS)
async def test_a_view_still_behind_after_the_wait_is_409_not_a_stale_body(
    client: httpx.AsyncClient, views: FakeViews, view: ViewName, path: str, aggregate: str
) -> None:
    store(views, view, 1)
    await views.reach(view, ORGANIZATION, aggregate, 1)

    started = time.monotonic()
    response = await client.get(path, params={"min_version": 2, "wait_s": 0.05})

    assert 0.05 <= time.monotonic() - started < 1
    body = problem(response, 409, type=VIEW_BEHIND)
    assert "behind" in body["title"]
    assert body["view_version"] == 1 and body["min_version"] == 2
    assert body["instance"] == path
    assert response.headers["retry-after"] == "1"


async def test_an_absent_view_is_behind_every_version(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"read_wait_s": 0.02})

    response = await client.get(LICENSE_PATH, params={"min_version": 1})

    body = problem(response, 409, type=VIEW_BEHIND)
    assert body["view_version"] == 0 and body["min_version"] == 1


async def test_the_clients_wait_is_capped_by_the_setting(
    client: httpx.AsyncClient, views: FakeViews, app: FastAPI
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"read_wait_s": 0.02})

    await client.get(ORGANIZATION_PATH, params={"min_version": 1, "wait_s": 3600})
    await client.get(ORGANIZATION_PATH, params={"min_version": 1, "wait_s": 0})

    assert [wait[-1] for wait in views.waits] == [0.02, 0]


async def test_without_min_version_nothing_waits(
    client: httpx.AsyncClient, views: FakeViews
) -> None:
    store(views, "organization", 1)

    response = await client.get(ORGANIZATION_PATH, params={"wait_s": 1})

    assert response.status_code == 200
    assert views.waits == []


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"min_version": 0}, "min_version"),
        ({"min_version": "latest"}, "min_version"),
        ({"min_version": 1, "wait_s": -1}, "wait_s"),
        ({"min_version": 1, "wait_s": "nan"}, "wait_s"),
        ({"min_version": 1, "wait_s": "inf"}, "wait_s"),
    ],
)
async def test_bad_wait_parameters_are_refused(
    client: httpx.AsyncClient, views: FakeViews, params: dict[str, object], parameter: str
) -> None:
    response = await client.get(LICENSE_PATH, params=params)  # type: ignore[arg-type]

    assert problem(response, 422)["errors"][0]["parameter"] == parameter
    assert views.waits == []
