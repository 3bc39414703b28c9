"""The real API while its own Kafka or Redis goes away and comes back (api.circuit): the
first calls wait for their timeout, the following ones are refused at once, and once the
dependency is back the API serves again within a bounded time.

A broker and a Redis of the module's own, on free ports: the session's are shared by the
other tests and must not stop.
"""

import asyncio
import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from uuid import uuid4

import httpx
import pytest
import pytest_asyncio

from api.main import create_app
from ostock.infra.local import LocalInfra
from ostock.infra.topics import ensure_topics
from ostock.settings import Settings
from tests.auth import bearer
from tests.isolated import local_infra

pytestmark = pytest.mark.integration

KAFKA_TIMEOUT_S = 2.0
REDIS_TIMEOUT_S = 1.0
FAILURES = 2
OPEN_S = 1.0
REFUSED_WITHIN_S = 0.3  # an open circuit answers without any I/O
MARGIN_S = 1.5
RECOVERY_BOUND_S = 30.0  # librdkafka reconnects with a backoff of up to 10 s
ACME = {"name": "Acme", "contact_email": "ada@acme.example"}
_log = logging.getLogger(__name__)


@pytest.fixture(scope="module")
def own_infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalInfra]:
    with local_infra(tmp_path_factory.mktemp("circuit-infra")) as local:
        yield local


@pytest.fixture
def infra(own_infra: LocalInfra) -> Iterator[LocalInfra]:
    """The module's infrastructure, running again after each test whatever it left."""
    yield own_infra
    pid = own_infra.redis.pid()
    if pid is not None:
        os.kill(pid, signal.SIGCONT)
    own_infra.up()


@pytest.fixture(scope="module")
def own_settings(own_infra: LocalInfra, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = Settings(
        kafka_bootstrap=own_infra.kafka.bootstrap,
        redis_url=own_infra.redis.url,
        topic_partitions=1,
        redis_prefix=f"circuit-{uuid4().hex[:8]}",
        data_dir=own_infra.data_dir,
        config_dir=tmp_path_factory.mktemp("circuit-config"),
        kafka_timeout_s=KAFKA_TIMEOUT_S,
        redis_timeout_s=REDIS_TIMEOUT_S,
        circuit_failures=FAILURES,
        circuit_open_s=OPEN_S,
    )
    ensure_topics(settings)
    return settings


@pytest_asyncio.fixture(loop_scope="function")  # the test's own loop: clients live in it
async def client(infra: LocalInfra, own_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(own_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://api", headers=bearer(own_settings), timeout=30
        ) as client:
            yield client


async def timed(request: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    start = time.monotonic()
    response = await request
    return response, time.monotonic() - start


def refused_by_circuit(response: httpx.Response) -> bool:
    return response.status_code == 503 and "until it answers a check" in response.json()["detail"]


async def assert_refused_at_once(request: Callable[[], Awaitable[httpx.Response]]) -> None:
    slowest = 0.0
    for _ in range(5):
        response, elapsed = await timed(request())
        assert refused_by_circuit(response), response.text
        assert 1 <= int(response.headers["retry-after"]) <= OPEN_S + 1
        slowest = max(slowest, elapsed)
    assert slowest < REFUSED_WITHIN_S
    _log.warning("refused by the open circuit within %.4fs", slowest)


async def recovery(
    request: Callable[[], Awaitable[httpx.Response]], served: int
) -> tuple[float, int]:
    """Seconds until `request` is answered with `served` again, and the refusals meanwhile
    (each one prompt)."""
    start = time.monotonic()
    refusals = 0
    while time.monotonic() - start < RECOVERY_BOUND_S:
        response, elapsed = await timed(request())
        if response.status_code == served:
            return time.monotonic() - start, refusals
        assert response.status_code == 503, response.text
        assert elapsed < REFUSED_WITHIN_S
        refusals += 1
        await asyncio.sleep(0.1)
    raise AssertionError(f"not served again within {RECOVERY_BOUND_S}s")


def state_changes(caplog: pytest.LogCaptureFixture, dependency: str) -> list[str]:
    return [
        record.getMessage().split(" after ")[0].split(":")[0]
        for record in caplog.records
        if record.name == "api.circuit" and record.getMessage().startswith(dependency)
    ]


async def test_commands_are_refused_at_once_while_kafka_is_down_and_accepted_once_back(
    client: httpx.AsyncClient, infra: LocalInfra, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="api.circuit")

    def create() -> Awaitable[httpx.Response]:
        return client.post("/v1/organizations", json=ACME)

    assert (await create()).status_code == 202
    await asyncio.to_thread(infra.kafka.stop)

    for _ in range(FAILURES):  # each waits for the broker's ack until the timeout
        response, elapsed = await timed(create())
        assert response.status_code == 503 and not refused_by_circuit(response)
        assert KAFKA_TIMEOUT_S * 0.8 <= elapsed < KAFKA_TIMEOUT_S + MARGIN_S
        _log.warning("a command without Kafka, circuit closed: %.2fs", elapsed)
    await assert_refused_at_once(create)
    ready, elapsed = await timed(client.get("/health/ready"))
    assert ready.status_code == 503 and ready.json()["checks"]["kafka"] == "down"
    assert elapsed < REFUSED_WITHIN_S

    await asyncio.to_thread(infra.kafka.start)
    took, refusals = await recovery(create, 202)

    _log.warning("commands accepted %.2fs after the broker was back (%d refused)", took, refusals)
    assert (await client.get("/health/ready")).status_code == 200
    assert state_changes(caplog, "Kafka") == ["Kafka circuit open", "Kafka circuit closed"]


@pytest.mark.parametrize("outage", ["stopped", "paused"])
async def test_reads_are_refused_at_once_while_redis_is_down_and_served_once_back(
    client: httpx.AsyncClient, infra: LocalInfra, outage: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Stopped, Redis refuses connections; paused (SIGSTOP), it accepts them and never
    answers, so each call before the circuit opens waits for the Redis timeout."""
    caplog.set_level(logging.INFO, logger="api.circuit")
    path = f"/v1/organizations/{uuid4()}"

    def read() -> Awaitable[httpx.Response]:
        return client.get(path)

    assert (await read()).status_code == 404
    pid = infra.redis.pid()
    assert pid is not None
    if outage == "stopped":
        await asyncio.to_thread(infra.redis.stop)
    else:
        os.kill(pid, signal.SIGSTOP)

    for _ in range(FAILURES):
        response, elapsed = await timed(read())
        assert response.status_code == 503 and not refused_by_circuit(response)
        assert elapsed < REDIS_TIMEOUT_S + MARGIN_S
        if outage == "paused":
            assert elapsed >= REDIS_TIMEOUT_S * 0.8
        _log.warning("a read without Redis (%s), circuit closed: %.2fs", outage, elapsed)
    await assert_refused_at_once(read)
    ready, elapsed = await timed(client.get("/health/ready"))
    assert ready.status_code == 503 and ready.json()["checks"]["redis"] == "down"
    assert elapsed < REFUSED_WITHIN_S

    if outage == "stopped":
        await asyncio.to_thread(infra.redis.start)
    else:
        os.kill(pid, signal.SIGCONT)
    took, refusals = await recovery(read, 404)

    _log.warning("reads served %.2fs after Redis was back (%d refused)", took, refusals)
    assert took < OPEN_S + REDIS_TIMEOUT_S + MARGIN_S
    assert state_changes(caplog, "Redis") == ["Redis circuit open", "Redis circuit closed"]
