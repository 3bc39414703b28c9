"""The whole system as real processes: every worker and the API, once per session."""

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
import pytest_asyncio

from api.main import create_app
from ostock.deployables import PROCESSES
from ostock.infra.ports import free_port, free_port_block
from ostock.settings import Settings
from ostock.views.client import RedisClient, redis_client
from ostock.views.functions import load_functions
from ostock.views.generations import FixedKeys
from ostock.views.keys import Keys
from ostock.views.reader import ViewReader
from tests.auth import bearer
from tests.processes import Worker


@pytest.fixture(scope="module")
def redis_settings(settings: Settings, redis_url: str) -> Settings:
    """The session's settings on the test's Redis (redis_url: a cluster's, for both_redis)."""
    return settings.model_copy(update={"redis_url": redis_url})


@pytest_asyncio.fixture(loop_scope="function")  # the client lives in the test's own loop
async def redis(redis_settings: Settings) -> AsyncIterator[RedisClient]:
    """A client of the test's Redis (redis_url), with the read-model functions loaded."""
    client = redis_client(redis_settings)
    await load_functions(client)
    yield client
    await client.aclose()


@pytest.fixture
def keys() -> Keys:
    """Keys under a base of the test's own, every read model in its first generation."""
    return Keys(f"test-{uuid4().hex[:8]}")


@pytest_asyncio.fixture(loop_scope="function")
async def reader(redis: RedisClient, keys: Keys) -> AsyncIterator[ViewReader]:
    """A reader of the views under `keys`."""
    reader = ViewReader(redis, FixedKeys(keys))
    yield reader
    await reader.close()


@pytest.fixture(scope="session")
def system_settings(settings: Settings) -> Settings:
    """The session's settings with free ports for the API and the workers' /metrics."""
    metrics_base = free_port_block(len(PROCESSES))
    return settings.model_copy(update={"api_port": free_port(), "metrics_port_base": metrics_base})


@pytest.fixture(scope="session")
def system(
    system_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Worker]]:
    """Handler, projectors and API as processes, as `ostock run` starts them."""
    logs = tmp_path_factory.mktemp("system-logs")
    workers = {
        name: Worker(args, system_settings, logs / f"{name}.log").start()
        for name, args in PROCESSES.items()
    }
    try:
        _wait_ready(f"http://127.0.0.1:{system_settings.api_port}/health/ready", workers)
        yield workers
    finally:
        for worker in workers.values():
            worker.stop()


@pytest.fixture
def api(system: dict[str, Worker], system_settings: Settings) -> Iterator[httpx.Client]:
    """An admin's client of the API process, with a token of the development issuer."""
    base = f"http://127.0.0.1:{system_settings.api_port}"
    headers = bearer(system_settings, "admin")
    with httpx.Client(base_url=base, timeout=10, headers=headers) as client:
        yield client


def _wait_ready(url: str, workers: dict[str, Worker]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        dead = [name for name, worker in workers.items() if not worker.alive()]
        assert not dead, f"{dead} exited: {workers[dead[0]].output()[-2000:]}"
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} not ready in 60s")


def wait_for_status(api: httpx.Client, command_id: str, timeout_s: float = 20) -> dict[str, Any]:
    """Poll the command status until it is decided (tests only: clients use min_version)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = api.get(f"/v1/commands/{command_id}")
        if response.status_code == 200 and response.json()["status"] != "pending":
            return dict(response.json())
        time.sleep(0.05)
    raise AssertionError(f"command {command_id} not decided in {timeout_s}s")


@pytest_asyncio.fixture(loop_scope="function")  # the test's own loop: clients live in it
async def client(redis_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An admin's client of the API app in this process, on the session's Kafka and the
    test's Redis."""
    settings = redis_settings
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://api", headers=bearer(settings)
        ) as client:
            yield client
