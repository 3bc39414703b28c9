"""Plain view reads answered before FastAPI (api.fast_reads): the same answers, and every
other read left to the routes."""

import re
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import httpx
import orjson
import pytest_asyncio
from fastapi import FastAPI
from redis.exceptions import ConnectionError as RedisConnectionError

from api.deps import get_views
from api.main import create_app
from api.reads import VIEW_ROUTES
from ostock.settings import Settings
from tests.auth import bearer
from tests.unit.api.assertions import problem
from tests.unit.api.fakes import FakeViews

ORGANIZATION_ID = str(uuid4())
LICENSE_ID = str(uuid4())
ORGANIZATION = orjson.dumps({"organization_id": ORGANIZATION_ID, "status": "active", "version": 2})
LICENSE = orjson.dumps({"license_id": LICENSE_ID, "status": "active", "version": 1})


class Routed:
    """The views as the FastAPI routes get them, counting how often they do."""

    def __init__(self, views: FakeViews) -> None:
        self.views = views
        self.reads = 0

    async def __call__(self) -> FakeViews:
        self.reads += 1
        return self.views


@pytest_asyncio.fixture(loop_scope="function")
async def app(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, FakeViews, Routed]]:
    """The app with its views in place, as its lifespan leaves them."""
    app = create_app(Settings(api_retry_after_s=7, config_dir=tmp_path / "config"))
    views = FakeViews(
        organizations={ORGANIZATION_ID: ORGANIZATION},
        license_views={(ORGANIZATION_ID, LICENSE_ID): LICENSE},
    )
    app.state.views = views
    routed = Routed(views)
    app.dependency_overrides[get_views] = routed
    yield app, views, routed


def client(app: FastAPI, headers: dict[str, str]) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://api", headers=headers)


async def routed_get(app: FastAPI, path: str) -> httpx.Response:
    """A read with a token of its own: not verified yet, so the routes answer it."""
    async with client(app, bearer(app.state.settings, "user")) as reader:
        return await reader.get(path)


async def test_a_known_token_reads_without_fastapi_and_gets_the_same_answer(
    app: tuple[FastAPI, FakeViews, Routed],
) -> None:
    api, _, routed = app
    paths = [
        f"/v1/organizations/{ORGANIZATION_ID}",
        f"/v1/organizations/{ORGANIZATION_ID}/licenses/{LICENSE_ID}",
    ]
    routed_answers = [await routed_get(api, path) for path in paths]
    async with client(api, bearer(api.state.settings, "user")) as reader:
        await reader.get(paths[0])  # verifies the token
        fast_answers = [await reader.get(path) for path in paths]

    assert routed.reads == 3
    for routed_answer, fast_answer, body in zip(
        routed_answers, fast_answers, (ORGANIZATION, LICENSE), strict=True
    ):
        assert fast_answer.status_code == routed_answer.status_code == 200
        assert fast_answer.content == routed_answer.content == body
        for header in ("content-type", "content-length"):
            assert fast_answer.headers[header] == routed_answer.headers[header]


async def test_missing_and_deleted_views_are_the_same_404(
    app: tuple[FastAPI, FakeViews, Routed],
) -> None:
    api, views, routed = app
    deleted = str(uuid4())
    views.organizations[deleted] = orjson.dumps({"status": "deleted", "version": 3})
    paths = [
        f"/v1/organizations/{uuid4()}",
        f"/v1/organizations/{deleted}",
        f"/v1/organizations/{ORGANIZATION_ID}/licenses/{uuid4()}",
    ]
    routed_answers = [await routed_get(api, path) for path in paths]
    async with client(api, bearer(api.state.settings, "user")) as reader:
        await reader.get(paths[0])  # verifies the token
        fast_answers = [await reader.get(path) for path in paths]

    assert routed.reads == len(paths) + 1
    for routed_answer, fast_answer in zip(routed_answers, fast_answers, strict=True):
        assert problem(fast_answer, 404) == problem(routed_answer, 404)


async def test_redis_down_is_503_with_retry_after(app: tuple[FastAPI, FakeViews, Routed]) -> None:
    api, views, routed = app
    async with client(api, bearer(api.state.settings, "user")) as reader:
        await reader.get(f"/v1/organizations/{ORGANIZATION_ID}")
        views.error = RedisConnectionError("Error 111 connecting to 10.0.0.7:6379")
        response = await reader.get(f"/v1/organizations/{ORGANIZATION_ID}")

    assert routed.reads == 1
    assert "10.0.0.7" not in problem(response, 503)["detail"]
    assert response.headers["retry-after"] == "7"


async def test_other_reads_go_to_the_routes(app: tuple[FastAPI, FakeViews, Routed]) -> None:
    api, views, routed = app
    path = f"/v1/organizations/{ORGANIZATION_ID}"
    views.versions[("organization", ORGANIZATION_ID, ORGANIZATION_ID)] = 2
    async with client(api, bearer(api.state.settings, "user")) as reader:
        await reader.get(path)
        assert routed.reads == 1
        assert (await reader.get(path, params={"min_version": 2})).status_code == 200
        assert (
            await reader.get(path.upper().replace("/V1/ORGANIZATIONS", "/v1/organizations"))
        ).status_code == 200
        problem(await reader.get(path, params={"min_version": 0}), 422)
        assert routed.reads == 4
    async with client(api, bearer(api.state.settings, "user")) as other_reader:
        await other_reader.get(path)  # a token not verified yet
        assert routed.reads == 5
    async with client(api, {"Authorization": "Bearer not-a-token"}) as refused:
        problem(await refused.get(path), 401)
    async with client(api, {}) as anonymous:
        problem(await anonymous.get(path), 401)


async def test_fast_reads_are_counted_by_route_template(
    app: tuple[FastAPI, FakeViews, Routed],
) -> None:
    api, _, routed = app
    async with client(api, bearer(api.state.settings, "user")) as reader:
        await reader.get(f"/v1/organizations/{ORGANIZATION_ID}")  # verifies the token
        for _ in range(2):
            await reader.get(f"/v1/organizations/{ORGANIZATION_ID}/licenses/{LICENSE_ID}")
            await reader.get(f"/v1/organizations/{uuid4()}")
        metrics = (await reader.get("/metrics")).text

    assert routed.reads == 1
    for route, status, count in (
        ("/v1/organizations/{organization_id}/licenses/{license_id}", "200", 2.0),
        ("/v1/organizations/{organization_id}", "404", 2.0),
    ):
        line = f'ostock_api_requests_total{{method="GET",route="{route}",status="{status}"}}'
        assert any(
            row.startswith(line) and float(row.split()[-1]) >= count for row in metrics.splitlines()
        )


async def test_a_bug_is_a_500_problem_as_the_routes_answer_it(
    app: tuple[FastAPI, FakeViews, Routed],
) -> None:
    api, views, routed = app
    path = f"/v1/organizations/{ORGANIZATION_ID}"
    views.error = RuntimeError("a bug")
    routed_answer = await routed_get(api, path)
    async with client(api, bearer(api.state.settings, "user")) as reader:
        await reader.get(path)  # verifies the token
        fast_answer = await reader.get(path)

    assert routed.reads == 2
    assert problem(fast_answer, 500) == problem(routed_answer, 500)


def test_each_fast_read_is_a_documented_route_of_the_app(
    app: tuple[FastAPI, FakeViews, Routed],
) -> None:
    """The fast path answers no path the OpenAPI contract lacks: both come from VIEW_ROUTES."""
    paths = app[0].openapi()["paths"]
    for route in VIEW_ROUTES:
        assert "get" in paths[route.path]
        ids = ["0" * 8 + "-0000-4000-8000-" + "0" * 12] * route.path.count("{")
        concrete = route.path
        for name in re.findall(r"\{[a-z_]+\}", route.path):
            concrete = concrete.replace(name, ids.pop(), 1)
        assert route.pattern.fullmatch(concrete)
        assert route.pattern.fullmatch(concrete.upper()) is None
