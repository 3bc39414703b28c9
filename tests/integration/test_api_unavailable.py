"""The real API, its Kafka and Redis pointed at ports where nothing listens, or where a
server accepts connections and never answers: every answer is a prompt problem, never
a hang. Needs no running infrastructure."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
import pytest_asyncio

from api.main import create_app
from ostock.infra.ports import free_port
from ostock.settings import Settings
from tests.auth import bearer

KAFKA_TIMEOUT_S = 2.0
REDIS_TIMEOUT_S = 1.0
MARGIN_S = 1.5


@pytest_asyncio.fixture(loop_scope="function", params=["refused", "silent"])
async def dead_ports(request: pytest.FixtureRequest) -> AsyncIterator[tuple[int, int]]:
    """Two ports that refuse connections, or two that accept them and never answer."""
    if request.param == "refused":
        yield free_port(), free_port()
        return

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up and closes
        writer.close()

    servers = [await asyncio.start_server(hold, "127.0.0.1", 0) for _ in range(2)]
    kafka, redis = (server.sockets[0].getsockname()[1] for server in servers)
    yield kafka, redis
    for server in servers:
        server.close()


@pytest_asyncio.fixture(loop_scope="function")  # the test's own loop: clients live in it
async def client(dead_ports: tuple[int, int], tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    kafka_port, redis_port = dead_ports
    settings = Settings(
        kafka_bootstrap=f"127.0.0.1:{kafka_port}",
        kafka_timeout_s=KAFKA_TIMEOUT_S,
        redis_url=f"redis://127.0.0.1:{redis_port}/0",
        redis_timeout_s=REDIS_TIMEOUT_S,
        config_dir=tmp_path,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        headers = bearer(settings)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://api", headers=headers
        ) as client:
            yield client


async def timed(request: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    start = time.monotonic()
    response = await request
    return response, time.monotonic() - start


async def test_a_command_without_kafka_is_503_within_the_kafka_timeout(
    client: httpx.AsyncClient,
) -> None:
    response, elapsed = await timed(client.post("/v1/organizations", json={"name": "Acme"}))

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) >= 1
    assert elapsed < KAFKA_TIMEOUT_S + MARGIN_S


async def test_commands_after_the_first_failures_are_refused_at_once(
    client: httpx.AsyncClient,
) -> None:
    failures = Settings().circuit_failures
    for _ in range(failures):
        response, elapsed = await timed(client.post("/v1/organizations", json={"name": "Acme"}))
        assert response.status_code == 503
        assert elapsed < KAFKA_TIMEOUT_S + MARGIN_S

    response, elapsed = await timed(client.post("/v1/organizations", json={"name": "Acme"}))

    assert response.status_code == 503
    assert "until it answers a check" in response.json()["detail"]
    assert int(response.headers["retry-after"]) >= 1
    assert elapsed < 0.3


async def test_a_read_without_redis_is_503_within_the_redis_timeout(
    client: httpx.AsyncClient,
) -> None:
    paths = [
        f"/v1/organizations/{uuid4()}",
        f"/v1/organizations/{uuid4()}/licenses/{uuid4()}",  # a pipeline of two reads
        f"/v1/commands/{uuid4()}",
    ]
    for path in paths:
        response, elapsed = await timed(client.get(path))

        assert response.status_code == 503
        assert "retry-after" in response.headers
        assert elapsed < REDIS_TIMEOUT_S + MARGIN_S


async def test_not_ready_but_live(client: httpx.AsyncClient) -> None:
    ready, elapsed = await timed(client.get("/health/ready"))

    assert ready.status_code == 503
    assert ready.json()["checks"] == {"kafka": "down", "redis": "down"}
    assert elapsed < KAFKA_TIMEOUT_S + MARGIN_S
    assert (await client.get("/health/live")).status_code == 200
