"""Fetching a JWKS over HTTP: the document when the issuer answers, a bounded failure when not."""

import asyncio
from collections.abc import AsyncIterator

import orjson
import pytest
import pytest_asyncio

from ostock.auth.jwks import IssuerUnavailable, JwksCache, http_jwks
from tests.unit.auth.keys import jwks, kid, new_key

pytestmark = pytest.mark.integration

KEY = new_key()


async def serve_jwks(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    body = orjson.dumps(jwks(KEY))
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    writer.write(head.encode() + body)
    await writer.drain()
    writer.close()


async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # never answers
    writer.close()


@pytest_asyncio.fixture(loop_scope="function")
async def issuer(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    server = await asyncio.start_server(request.param, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/realms/ostock/protocol/openid-connect/certs"
    server.close()


@pytest.mark.parametrize("issuer", [serve_jwks], indirect=True)
async def test_keys_come_from_the_issuer(issuer: str) -> None:
    cache = JwksCache(http_jwks(issuer, timeout_s=2), min_refresh_s=30)

    assert await cache.key(kid(KEY)) is not None


@pytest.mark.parametrize("issuer", [hang], indirect=True)
async def test_a_silent_issuer_fails_within_the_timeout(issuer: str) -> None:
    cache = JwksCache(http_jwks(issuer, timeout_s=0.5), min_refresh_s=30)

    async with asyncio.timeout(3):
        with pytest.raises(IssuerUnavailable):
            await cache.key(kid(KEY))
