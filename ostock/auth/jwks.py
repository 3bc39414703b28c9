"""The issuer's signing keys, cached by kid; an unknown kid refreshes them, rate-limited."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import orjson
from jwt import PyJWK
from jwt.exceptions import PyJWKError

JwksFetch = Callable[[], Awaitable[Mapping[str, Any]]]
_log = logging.getLogger(__name__)


class IssuerUnavailable(Exception):
    """The JWKS could not be fetched: the issuer, not the token, is at fault."""


def http_jwks(url: str, timeout_s: float) -> JwksFetch:
    """Fetch a JWKS document over HTTP(S), bounded by a timeout."""

    async def fetch() -> Mapping[str, Any]:
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            response = await client.get(url)
            response.raise_for_status()
            return dict(orjson.loads(response.content))

    return fetch


def file_jwks(path: Path) -> JwksFetch:
    """Read a JWKS document from a file (the development issuer's); missing means no keys."""

    async def fetch() -> Mapping[str, Any]:
        try:
            content = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return {"keys": []}
        return dict(orjson.loads(content))

    return fetch


class JwksCache:
    """Keys by kid. Fetched on the first unknown kid, then at most once per `min_refresh_s`."""

    def __init__(
        self,
        fetch: JwksFetch,
        min_refresh_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._min_refresh_s = min_refresh_s
        self._clock = clock
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> PyJWK | None:
        """The key with this kid, refreshing the set once if it is unknown."""
        if kid not in self._keys:
            await self._refresh()
        return self._keys.get(kid)

    async def _refresh(self) -> None:
        async with self._lock:
            now = self._clock()
            if self._fetched_at is not None and now - self._fetched_at < self._min_refresh_s:
                return
            self._fetched_at = now
            try:
                document = await self._fetch()
            except (httpx.HTTPError, OSError, ValueError) as error:
                _log.warning("JWKS fetch failed: %s", error)
                raise IssuerUnavailable("The token issuer's keys are unavailable.") from error
            self._keys = _keys_by_kid(document)


def _keys_by_kid(document: Mapping[str, Any]) -> dict[str, PyJWK]:
    keys: dict[str, PyJWK] = {}
    for jwk in document.get("keys", []):
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or jwk.get("use", "sig") != "sig":
            continue
        kid = jwk.get("kid")
        try:
            if isinstance(kid, str):
                keys[kid] = PyJWK(jwk, algorithm="RS256")
        except PyJWKError as error:
            _log.warning("JWKS key %s skipped: %s", kid, error)
    return keys
