"""The API's Redis client (api.redis_client): every command and pipeline ends within its
deadline, as a Redis TimeoutError, whatever part of the call the server leaves hanging.

The servers are asyncio servers on 127.0.0.1 inside each test, speaking as much RESP as
the call needs; no Redis runs. The circuit itself is tests/unit/api/test_circuit.py's.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from redis.exceptions import TimeoutError as RedisTimeoutError

from api.redis_client import DeadlineRedis, redis_client
from ostock.settings import Settings

DEADLINE_S = 0.2
# Far above the deadline: a call that hits it ends the test instead of hanging it.
GUARD_S = 5.0

#: What the server writes back to one command; None: it never answers.
Reply = Callable[[list[bytes]], Awaitable[bytes | None]]


async def read_command(reader: asyncio.StreamReader) -> list[bytes] | None:
    """One command as redis-py sends it (an array of bulk strings); None once it hangs up."""
    try:
        line = await reader.readline()
        if not line:
            return None
        command = []
        for _ in range(int(line[1:])):
            size = int((await reader.readline())[1:])
            command.append((await reader.readexactly(size + 2))[:-2])
        return command
    except (asyncio.IncompleteReadError, ConnectionError):
        return None


@asynccontextmanager
async def server(reply: Reply) -> AsyncIterator[str]:
    """A server on loopback that answers each command as `reply` says; its redis:// URL."""
    closing = asyncio.Event()
    connections: set[asyncio.Future[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (command := await read_command(reader)) is not None:
                answer = await reply(command)
                if answer is None:
                    await closing.wait()  # accepted, read, and never answered
                    return
                writer.write(answer)
                await writer.drain()
        except ConnectionError:
            pass  # the client hung up before a late answer
        finally:
            writer.close()

    def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.add(asyncio.ensure_future(serve(reader, writer)))

    listening = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        # Silent connections are let go rather than cancelled: asyncio logs a cancelled one.
        closing.set()
        listening.close()
        await asyncio.gather(*connections)
        await listening.wait_closed()


async def silent(command: list[bytes]) -> bytes | None:
    """Accepts the connection and never answers anything, the handshake included."""
    return None


def bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


async def handshake_only(command: list[bytes]) -> bytes | None:
    """Answers redis-py's handshake (HELLO 3 then CLIENT SETINFO), then nothing."""
    if command[0] == b"HELLO":
        return b"%1\r\n" + bulk(b"proto") + b":3\r\n"  # RESP3: the protocol it asked for
    if command[0] == b"CLIENT":
        return b"+OK\r\n"
    return None


def client(url: str, **settings: object) -> DeadlineRedis:
    """The API's client of the server at `url`, without ACLs unless `settings` say so."""
    values = {"redis_url": url, "redis_timeout_s": DEADLINE_S, "redis_security": "none"}
    single = redis_client(Settings.model_validate(values | settings))
    assert isinstance(single, DeadlineRedis)  # one Redis, not a cluster
    return single


async def ends_as_a_timeout(call: Awaitable[object]) -> float:
    """How long `call` took to fail as a Redis TimeoutError."""
    started = time.monotonic()
    with pytest.raises(RedisTimeoutError, match=f"within {DEADLINE_S}s"):
        async with asyncio.timeout(GUARD_S):
            await call
    return time.monotonic() - started


async def test_a_command_left_unanswered_ends_at_the_deadline_as_a_redis_timeout() -> None:
    async with server(handshake_only) as url, client(url) as redis:
        took = await ends_as_a_timeout(redis.hget("key", "body"))

        assert DEADLINE_S * 0.9 <= took < DEADLINE_S + 1.0
        assert redis.circuit.failures == 1  # a timeout counts towards opening the circuit


@pytest.mark.parametrize("transaction", [False, True], ids=["plain", "multi-exec"])
async def test_a_pipeline_left_unanswered_ends_at_the_deadline_as_a_redis_timeout(
    transaction: bool,
) -> None:
    async with server(handshake_only) as url, client(url) as redis:
        async with redis.pipeline(transaction=transaction) as pipe:
            pipe.hget("key", "body")
            pipe.hget("other", "body")
            took = await ends_as_a_timeout(pipe.execute())

        assert DEADLINE_S * 0.9 <= took < DEADLINE_S + 1.0
        assert redis.circuit.failures == 1


@pytest.mark.parametrize("security", ["none", "acl"], ids=["hello", "hello-auth"])
async def test_the_deadline_bounds_the_handshake_too(security: str) -> None:
    # With ACLs the login rides on the handshake (HELLO 3 AUTH user password).
    async with (
        server(silent) as url,
        client(url, redis_security=security, redis_password="pw") as redis,
    ):
        took = await ends_as_a_timeout(redis.get("key"))

        assert took < DEADLINE_S + 1.0


async def test_the_circuits_check_of_a_silent_server_ends_within_the_deadline() -> None:
    async with server(silent) as url, client(url) as redis:
        started = time.monotonic()
        async with asyncio.timeout(GUARD_S):
            assert not await redis.answers()

        assert time.monotonic() - started < DEADLINE_S + 1.0


async def test_an_answer_after_the_deadline_is_never_taken_for_the_next_calls() -> None:
    late = asyncio.Event()

    async def late_once(command: list[bytes]) -> bytes | None:
        """HGET's answer is its field; the first one comes after the deadline."""
        if command[0] != b"HGET":
            return await handshake_only(command)
        if not late.is_set():
            late.set()
            # Past the first call's deadline, within the next call's: a connection put
            # back in use would hand this answer to the next call.
            await asyncio.sleep(DEADLINE_S * 1.5)
        return bulk(command[2])

    async with server(late_once) as url, client(url) as redis:
        await ends_as_a_timeout(redis.hget("key", "first"))
        assert redis.circuit.failures == 1

        async with asyncio.timeout(GUARD_S):
            assert await redis.hget("key", "second") == b"second"
            assert await redis.hget("key", "third") == b"third"
        assert redis.circuit.failures == 0  # an answer in time ends the run of failures
