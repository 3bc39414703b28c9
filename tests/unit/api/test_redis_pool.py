"""The API's Redis pool: bounded, and a caller waits for a free connection within its timeout."""

import asyncio
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from api.redis_pool import WaitingConnectionPool


class IdleConnection:
    """A connection that is always connected and never has data waiting: no I/O."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs

    async def connect(self) -> None:
        pass

    async def can_read(self) -> bool:
        return False

    def should_reconnect(self) -> bool:
        return False

    async def disconnect(self) -> None:
        pass

    async def re_auth(self) -> None:
        pass


def pool(max_connections: int, timeout: float) -> WaitingConnectionPool:
    return WaitingConnectionPool(
        connection_class=IdleConnection, max_connections=max_connections, timeout=timeout
    )


async def test_connections_are_reused_up_to_the_bound() -> None:
    redis_pool = pool(2, timeout=1.0)
    first = await redis_pool.get_connection()
    second = await redis_pool.get_connection()
    await redis_pool.release(first)

    assert await redis_pool.get_connection() is first
    assert first is not second


async def test_a_caller_waits_for_a_released_connection() -> None:
    redis_pool = pool(1, timeout=1.0)
    held = await redis_pool.get_connection()
    waiting = asyncio.ensure_future(redis_pool.get_connection())
    await asyncio.sleep(0.01)
    assert not waiting.done()

    await redis_pool.release(held)

    assert await asyncio.wait_for(waiting, 1.0) is held


async def test_waiters_are_served_in_turn() -> None:
    redis_pool = pool(1, timeout=1.0)
    held = await redis_pool.get_connection()
    first, second = (asyncio.ensure_future(redis_pool.get_connection()) for _ in range(2))
    await asyncio.sleep(0.01)

    await redis_pool.release(held)
    await asyncio.wait_for(first, 1.0)
    assert not second.done()
    await redis_pool.release(first.result())

    assert await asyncio.wait_for(second, 1.0) is held


async def test_no_free_connection_within_the_timeout_is_a_connection_error() -> None:
    redis_pool = pool(1, timeout=0.05)
    await redis_pool.get_connection()

    with pytest.raises(RedisConnectionError, match="No connection available"):
        await redis_pool.get_connection()


async def test_a_caller_that_gives_up_passes_its_turn_on() -> None:
    redis_pool = pool(1, timeout=1.0)
    held = await redis_pool.get_connection()
    cancelled = asyncio.ensure_future(redis_pool.get_connection())
    waiting = asyncio.ensure_future(redis_pool.get_connection())
    await asyncio.sleep(0.01)
    cancelled.cancel()
    await asyncio.sleep(0)

    await redis_pool.release(held)

    assert await asyncio.wait_for(waiting, 1.0) is held
