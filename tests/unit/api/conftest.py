"""The real app with its Kafka and Redis edges replaced by the fakes."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from api.deps import get_publisher, get_redis, get_views
from api.main import create_app
from ostock.settings import Settings
from tests.auth import bearer
from tests.unit.api.fakes import FakePublisher, FakeRedis, FakeViews


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture
def views() -> FakeViews:
    return FakeViews()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Defaults, with the development issuer's keys under the test's own folder."""
    return Settings(api_retry_after_s=7, config_dir=tmp_path / "config")


@pytest.fixture
def app(settings: Settings, publisher: FakePublisher, views: FakeViews) -> FastAPI:
    app = create_app(settings)

    async def fake_publisher() -> FakePublisher:
        return publisher

    async def fake_views() -> FakeViews:
        return views

    async def fake_redis() -> FakeRedis:
        return FakeRedis()

    app.dependency_overrides[get_publisher] = fake_publisher
    app.dependency_overrides[get_views] = fake_views
    app.dependency_overrides[get_redis] = fake_redis
    return app


@pytest_asyncio.fixture(loop_scope="function")  # the test's own loop: clients live in it
async def client(app: FastAPI, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An admin's client. No lifespan: nothing connects; unexpected errors answer 500."""
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    headers = bearer(settings, "admin")
    async with httpx.AsyncClient(
        transport=transport, base_url="http://api", headers=headers
    ) as client:
        yield client
