"""The API's Redis client: every command and pipeline ends within the Redis timeout.

redis-py's `socket_timeout` bounds each send and each read on its own, and on Python
3.11 its send runs in an `asyncio.wait_for`, a task of its own per command: with it a
view read cost the API a third more CPU (docs/performance.md). One `asyncio.timeout`
per command bounds the whole call instead: connecting, the handshake, the send and the
read. A call cut short disconnects its
connection (redis-py drops one interrupted mid-read), and fails as a Redis
TimeoutError, which the API answers with 503. Every call passes the client's circuit
(api.circuit) on the way: while Redis is down calls are refused at once. Each call
tried is timed (db_client_operation_duration_seconds), by command or as a PIPELINE; given
a tracer, every call a request makes is a span of its trace (ostock.views.tracing).
"""

import asyncio
from collections.abc import Coroutine
from time import perf_counter
from typing import Any, TypeVar, cast

from opentelemetry.trace import Tracer
from redis.asyncio import Redis, RedisCluster
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterPipeline
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from api.circuit import Breaker
from api.redis_pool import WaitingConnectionPool
from ostock.credentials import redis_login
from ostock.settings import Settings
from ostock.telemetry.labels import child
from ostock.telemetry.metrics import REDIS_DURATION
from ostock.views.client import names_cluster
from ostock.views.tracing import operation_name, redis_span

T = TypeVar("T")


class _Deadline:
    """Commands that each end within `deadline_s` seconds, refused at once while
    `circuit` is open: for a client of one Redis or of a cluster."""

    deadline_s: float
    circuit: Breaker
    tracer: Tracer | None

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        call = super().execute_command(*args, **options)  # type: ignore[misc]
        name = str(args[0])
        if self.tracer is None:
            return await _within(self.circuit, self.deadline_s, call, name)
        with redis_span(self.tracer, name.upper(), 1):
            return await _within(self.circuit, self.deadline_s, call, name)

    async def answers(self) -> bool:
        """Whether Redis answers PING within the deadline, asked past the circuit: its check."""
        try:
            async with asyncio.timeout(self.deadline_s):
                return bool(await super().execute_command("PING"))  # type: ignore[misc]
        except (RedisError, TimeoutError):
            return False

    def _configured(self, pipe: "_DeadlineExecute") -> None:
        pipe.deadline_s = self.deadline_s
        pipe.circuit = self.circuit
        pipe.tracer = self.tracer


class _DeadlineExecute:
    """A pipeline whose execution ends within `deadline_s` seconds, refused at once while
    `circuit` is open."""

    deadline_s: float
    circuit: Breaker
    tracer: Tracer | None
    command_stack: list[Any]

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        work = super().execute(raise_on_error)  # type: ignore[misc]
        if self.tracer is None:
            return await _within(self.circuit, self.deadline_s, work, "PIPELINE")
        commands = [_command_name(command) for command in self.command_stack]
        with redis_span(self.tracer, operation_name(commands), len(commands)):
            return await _within(self.circuit, self.deadline_s, work, "PIPELINE")


def _command_name(command: Any) -> str:
    # A pipeline of one Redis stacks (args, options); a cluster's, PipelineCommands.
    args = command.args if hasattr(command, "args") else command[0]
    return str(args[0])


class DeadlinePipeline(_DeadlineExecute, Pipeline):  # type: ignore[misc]  # redis-py's own mixins disagree
    """A pipeline of one Redis, bounded."""


class DeadlineClusterPipeline(_DeadlineExecute, ClusterPipeline):  # type: ignore[misc]  # redis-py's own mixins disagree
    """A pipeline of a Redis Cluster, bounded (as one round trip per node, in parallel)."""


class DeadlineRedis(_Deadline, Redis):  # type: ignore[misc]  # redis-py's own mixins disagree
    """A client of one Redis whose commands and pipelines each end within `deadline_s`
    seconds, and are refused at once while `circuit` is open."""

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        pipe = DeadlinePipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint
        )
        self._configured(pipe)
        return pipe

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await self.circuit.aclose()
        await super().aclose(close_connection_pool)


class DeadlineRedisCluster(_Deadline, RedisCluster):  # type: ignore[misc]  # redis-py's own mixins disagree
    """DeadlineRedis on a Redis Cluster."""

    def pipeline(
        self, transaction: Any | None = None, shard_hint: Any | None = None
    ) -> ClusterPipeline:
        pipe = DeadlineClusterPipeline(self, transaction)  # type: ignore[abstract]
        self._configured(pipe)
        return pipe

    async def aclose(self) -> None:
        await self.circuit.aclose()
        await super().aclose()


async def _within(
    circuit: Breaker, seconds: float, work: Coroutine[Any, Any, T], operation: str
) -> T:
    if circuit.open:
        work.close()  # never started: closed so it is not reported as never awaited
        raise circuit.refuse()
    started = perf_counter()
    try:
        async with asyncio.timeout(seconds):
            result = await work
    except TimeoutError:
        failure = RedisTimeoutError(f"Redis did not answer within {seconds}s")
        circuit.failed(failure)
        raise failure from None
    except (RedisConnectionError, RedisTimeoutError) as error:
        circuit.failed(error)
        raise
    finally:
        child(REDIS_DURATION, "redis", operation).observe(perf_counter() - started)
    if circuit.failures:
        circuit.succeeded()
    return result


def redis_client(
    settings: Settings, tracer: Tracer | None = None
) -> DeadlineRedis | DeadlineRedisCluster:
    """A pooled client whose every call ends within the Redis timeout (a span of the
    request it serves, given a tracer).

    One immediate retry, on connection errors only, replaces a pooled connection that
    died with a Redis restart; the default policy retries ten times, backing off.
    The pool is bounded and blocking: a burst waits for a free connection (within
    the timeout) instead of failing once the pool is exhausted. On a Redis Cluster
    (ostock.views.client.names_cluster), redis-py's own pools, as many per node.
    """
    username, password = redis_login(settings)
    client: DeadlineRedis | DeadlineRedisCluster
    if names_cluster(settings):
        client = DeadlineRedisCluster.from_url(  # type: ignore[assignment]
            settings.redis_url,
            username=username,
            password=password,
            max_connections=settings.redis_max_connections,
            socket_timeout=None,  # bounded by the deadline
            socket_connect_timeout=settings.redis_timeout_s,
        )
    else:
        client = _single(settings, username, password)
    client.deadline_s = settings.redis_timeout_s
    client.tracer = tracer
    client.circuit = Breaker.configured("Redis", settings, client.answers)
    return client


def _single(settings: Settings, username: str | None, password: str | None) -> DeadlineRedis:
    pool = WaitingConnectionPool.from_url(
        settings.redis_url,
        username=username,
        password=password,
        max_connections=settings.redis_max_connections,
        timeout=settings.redis_timeout_s,
        socket_timeout=None,  # redis-py's default is 5 s: bounded here by the deadline
        socket_connect_timeout=settings.redis_timeout_s,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )
    return cast(DeadlineRedis, DeadlineRedis.from_pool(pool))
