"""The whole system as real processes: every worker and the API, once per session."""

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
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
from tests.processes import Worker, running_system


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
    return with_free_ports(settings)


@pytest.fixture(scope="session")
def system(
    system_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Worker]]:
    """Handler, projectors and API as processes, as `ostock run` starts them."""
    with running_system(system_settings, tmp_path_factory.mktemp("system-logs")) as workers:
        yield workers


@pytest.fixture(scope="session")
def cluster_system(
    cluster_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    """The settings of every process running as `system` starts them, on the session's
    Kafka cluster and Redis Cluster."""
    settings = with_free_ports(cluster_settings)
    with running_system(settings, tmp_path_factory.mktemp("cluster-system-logs")):
        yield settings


@pytest.fixture(
    scope="session", params=["broker", pytest.param("cluster", marks=pytest.mark.cluster)]
)
def deployment(request: pytest.FixtureRequest) -> Settings:
    """The settings of a running system, once on the single broker and once on the
    clusters: the end-to-end tests run on both."""
    if request.param == "cluster":
        cluster: Settings = request.getfixturevalue("cluster_system")
        return cluster
    request.getfixturevalue("system")
    single: Settings = request.getfixturevalue("system_settings")
    return single


@pytest.fixture
def api(system: dict[str, Worker], system_settings: Settings) -> Iterator[httpx.Client]:
    """An admin's client of the API process, with a token of the development issuer."""
    with admin_client(system_settings) as client:
        yield client


@pytest.fixture
def deployed_api(deployment: Settings) -> Iterator[httpx.Client]:
    """An admin's client of the API of `deployment`: an end-to-end module's `api`."""
    with admin_client(deployment) as client:
        yield client


@contextmanager
def admin_client(settings: Settings) -> Iterator[httpx.Client]:
    """An admin's client of the API process of `settings`, with a token of the development
    issuer."""
    base = f"http://127.0.0.1:{settings.api_port}"
    with httpx.Client(base_url=base, timeout=10, headers=bearer(settings, "admin")) as client:
        yield client


def with_free_ports(settings: Settings) -> Settings:
    """`settings` with free ports for the API and the workers' /metrics (every copy's)."""
    metrics_base = free_port_block(settings.scale * len(PROCESSES))
    return settings.model_copy(update={"api_port": free_port(), "metrics_port_base": metrics_base})


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
