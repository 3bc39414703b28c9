"""The circuit breaker (api.circuit): its states on an injected clock, then the Kafka
publisher and the Redis client that use it, and the 503 an open circuit answers."""

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, cast

import httpx
import pytest
from confluent_kafka import KafkaException, Producer
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError

from api.circuit import Breaker, CircuitOpen
from api.publisher import CommandPublisher, KafkaUnavailable
from api.redis_client import DeadlineRedis, redis_client
from ostock.kafka.config import Headers
from ostock.kafka.delivery import Outgoing
from ostock.settings import Settings
from tests.unit.api.assertions import problem
from tests.unit.api.fakes import FakePublisher, FakeViews

OPEN_S = 10.0


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Dependency:
    """A check of a dependency that answers what the test sets, once let go."""

    def __init__(self) -> None:
        self.answers = False
        self.checks = 0
        self.error: Exception | None = None
        self.released = asyncio.Event()
        self.released.set()

    async def __call__(self) -> bool:
        self.checks += 1
        await self.released.wait()
        if self.error is not None:
            raise self.error
        return self.answers


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def dependency() -> Dependency:
    return Dependency()


@pytest.fixture
def breaker(clock: Clock, dependency: Dependency) -> Breaker:
    return Breaker("Kafka", failures=2, open_s=OPEN_S, check=dependency, clock=clock)


async def settle() -> None:
    """Let the loop run a check started, or finish one let go."""
    await asyncio.sleep(0)
    await asyncio.sleep(0)


def open_circuit(breaker: Breaker) -> None:
    breaker.failed("timed out")
    breaker.failed("timed out")
    assert breaker.open


def test_failures_below_the_threshold_or_not_in_a_row_keep_it_closed(breaker: Breaker) -> None:
    breaker.failed("timed out")
    breaker.succeeded()
    breaker.failed("timed out")

    assert not breaker.open
    assert breaker.failures == 1


async def test_failures_in_a_row_open_it_and_calls_are_refused_until_the_interval(
    breaker: Breaker, clock: Clock, dependency: Dependency
) -> None:
    open_circuit(breaker)
    clock.now += 3.5

    refused = breaker.refuse()

    assert isinstance(refused, CircuitOpen)
    assert refused.status == 503
    assert refused.headers == {"Retry-After": "7"}  # the seconds left until its check
    await settle()
    assert dependency.checks == 0


async def test_after_the_interval_one_check_runs_and_closes_it_when_answered(
    breaker: Breaker, clock: Clock, dependency: Dependency
) -> None:
    open_circuit(breaker)
    dependency.answers = True
    dependency.released.clear()
    clock.now += OPEN_S

    refusals = [breaker.refuse() for _ in range(3)]
    await settle()

    assert dependency.checks == 1  # one check for every call refused meanwhile
    assert all(r.headers == {"Retry-After": "1"} for r in refusals)
    assert breaker.open  # until the check is answered
    dependency.released.set()
    await settle()
    assert not breaker.open
    assert breaker.failures == 0


async def test_a_check_unanswered_keeps_it_open_for_another_interval(
    breaker: Breaker, clock: Clock, dependency: Dependency
) -> None:
    open_circuit(breaker)
    clock.now += OPEN_S
    breaker.refuse()
    await settle()
    assert breaker.open

    clock.now += OPEN_S - 1
    assert breaker.refuse().headers == {"Retry-After": "1"}
    await settle()
    assert dependency.checks == 1

    clock.now += 1
    dependency.answers = True
    breaker.check_when_due()  # a readiness probe, without any call
    await settle()
    assert dependency.checks == 2
    assert not breaker.open


async def test_a_check_that_raises_keeps_it_open_and_is_logged(
    breaker: Breaker, clock: Clock, dependency: Dependency, caplog: pytest.LogCaptureFixture
) -> None:
    open_circuit(breaker)
    dependency.error = RuntimeError("a bug in the check")
    clock.now += OPEN_S

    breaker.refuse()
    await settle()

    assert breaker.open
    assert "its check failed" in caplog.text


async def test_late_outcomes_of_calls_begun_before_it_opened_change_nothing(
    breaker: Breaker, clock: Clock, dependency: Dependency
) -> None:
    open_circuit(breaker)
    clock.now += OPEN_S - 2
    breaker.failed("timed out")
    breaker.succeeded()

    assert breaker.open
    assert breaker.refuse().headers == {"Retry-After": "2"}  # its check not put off


async def test_each_change_of_state_is_logged_once(
    breaker: Breaker, clock: Clock, dependency: Dependency, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="api.circuit")
    for _ in range(5):
        breaker.failed("timed out")
    for _ in range(5):
        breaker.refuse()
    clock.now += OPEN_S
    dependency.answers = True
    breaker.refuse()
    await settle()
    breaker.succeeded()

    assert [r.getMessage().split(":")[0] for r in caplog.records] == [
        "Kafka circuit open after 2 failures in a row (last",
        "Kafka circuit closed",
    ]


async def test_aclose_stops_a_check_under_way(
    breaker: Breaker, clock: Clock, dependency: Dependency
) -> None:
    open_circuit(breaker)
    dependency.released.clear()
    clock.now += OPEN_S
    breaker.refuse()
    await settle()

    await asyncio.wait_for(breaker.aclose(), 1.0)

    assert breaker.open


class BrokerProducer:
    """A producer whose broker is down (nothing is ever confirmed, no metadata) or up."""

    def __init__(self) -> None:
        self.up = False
        self.produced = 0
        self.metadata_requests = 0
        self._pending: list[Callable[[Any, Any], None]] = []

    def produce(self, topic: str, on_delivery: Callable[[Any, Any], None], **_: Any) -> None:
        self.produced += 1
        self._pending.append(on_delivery)

    def poll(self, timeout: float = 0) -> int:
        if not self.up or not self._pending:
            time.sleep(min(timeout, 0.01))  # as a real poll waits: the poll thread must not spin
            return 0
        pending, self._pending = self._pending, []
        for delivered in pending:
            delivered(None, None)
        return len(pending)

    def flush(self, timeout: float = 0) -> int:
        return self.poll()

    def list_topics(self, timeout: float) -> object:
        self.metadata_requests += 1
        if not self.up:
            raise KafkaException("no metadata")
        return object()


async def test_the_publisher_refuses_commands_at_once_while_the_broker_is_down() -> None:
    producer = BrokerProducer()
    settings = Settings(kafka_timeout_s=0.05, circuit_failures=2, circuit_open_s=0.2)
    commands = CommandPublisher(cast(Producer, producer), settings)

    async with commands:
        for _ in range(2):
            with pytest.raises(KafkaUnavailable):
                await commands.publish(command("r"))
        with pytest.raises(CircuitOpen):
            await commands.publish(command("r"))
        assert not await commands.reachable()
        assert (producer.produced, producer.metadata_requests) == (2, 0)

        producer.up = True
        await asyncio.sleep(0.2)
        assert not await commands.reachable()  # the check it starts is not yet answered
        async with asyncio.timeout(2):
            while commands.circuit.open:
                await asyncio.sleep(0.01)
        await commands.publish(command("r"))
        assert await commands.reachable()  # the check's answer, not a metadata request
        assert producer.metadata_requests == 1


class RefusedConnection:
    """A Redis connection to a server that is not there: no I/O."""

    connects = 0

    def __init__(self, **kwargs: Any) -> None:
        pass

    async def connect(self) -> None:
        RefusedConnection.connects += 1
        raise RedisConnectionError("Error 111 connecting to 10.0.0.7:6379. Connection refused.")

    def should_reconnect(self) -> bool:
        return False

    async def re_auth(self) -> None:
        pass

    async def disconnect(self, nowait: bool = False) -> None:
        pass


async def test_the_redis_client_refuses_calls_at_once_while_redis_is_down() -> None:
    redis = redis_client(Settings(circuit_failures=2, circuit_open_s=OPEN_S))
    assert isinstance(redis, DeadlineRedis)  # down: taken for one Redis
    redis.connection_pool.connection_class = cast(type[AbstractConnection], RefusedConnection)

    async with redis:
        for _ in range(2):
            with pytest.raises(RedisConnectionError):
                await redis.hget("key", "body")
        tried = RefusedConnection.connects
        with pytest.raises(CircuitOpen):
            await redis.hget("key", "body")
        with pytest.raises(CircuitOpen):
            async with redis.pipeline(transaction=False) as pipe:
                pipe.hget("key", "body")
                await pipe.execute()

        assert RefusedConnection.connects == tried
        assert not await redis.answers()  # the check, past the circuit


async def test_an_open_circuit_is_a_503_with_its_own_retry_after(
    client: httpx.AsyncClient,
    publisher: FakePublisher,
    views: FakeViews,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def refused(*args: object) -> None:
        raise CircuitOpen("Kafka", 3)

    monkeypatch.setattr(publisher, "publish", refused)
    views.error = CircuitOpen("Redis", 4)

    command = await client.post("/v1/organizations", json={"name": "Acme"})
    read = await client.get("/v1/organizations/6f1d3c1e-5a0b-4c52-9a53-2f0e5f2b7c11")

    assert "Kafka is unavailable" in problem(command, 503)["detail"]
    assert command.headers["retry-after"] == "3"  # not the setting's 7
    assert "Redis is unavailable" in problem(read, 503)["detail"]
    assert read.headers["retry-after"] == "4"


def command(correlation_id: str) -> Outgoing:
    """A command record as the API hands it to its publisher."""
    headers: Headers = [("correlation-id", correlation_id.encode()), ("traceparent", b"tp")]
    return Outgoing("commands", b"org-1", b"v", headers)
