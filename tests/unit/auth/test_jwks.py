"""The JWKS cache: fetched on an unknown kid only, and never more than once per interval."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from ostock.auth.jwks import IssuerUnavailable, JwksCache, file_jwks
from tests.unit.auth.keys import jwks, kid, new_key

OLD, NEW = new_key(), new_key()


class Issuer:
    """Serves its current key set and counts the fetches."""

    def __init__(self, document: Mapping[str, Any] | Exception) -> None:
        self.document = document
        self.fetches = 0

    async def fetch(self) -> Mapping[str, Any]:
        self.fetches += 1
        if isinstance(self.document, Exception):
            raise self.document
        return self.document


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_keys_are_fetched_on_first_use_and_then_served_from_the_cache() -> None:
    issuer = Issuer(jwks(OLD))
    cache = JwksCache(issuer.fetch, 30, Clock())

    assert await cache.key(kid(OLD)) is not None
    assert await cache.key(kid(OLD)) is not None
    assert issuer.fetches == 1


async def test_an_unknown_kid_refreshes_the_keys_once_the_interval_has_passed() -> None:
    issuer, clock = Issuer(jwks(OLD)), Clock()
    cache = JwksCache(issuer.fetch, 30, clock)
    await cache.key(kid(OLD))
    issuer.document = jwks(OLD, NEW)  # the issuer rotates its keys

    clock.now += 10
    assert await cache.key(kid(NEW)) is None  # rate-limited: no fetch yet
    assert await cache.key(kid(NEW)) is None
    assert issuer.fetches == 1

    clock.now += 30
    assert await cache.key(kid(NEW)) is not None
    assert issuer.fetches == 2


async def test_unknown_kids_cannot_make_the_cache_hammer_the_issuer() -> None:
    issuer = Issuer(jwks(OLD))
    cache = JwksCache(issuer.fetch, 30, Clock())

    for _ in range(20):
        assert await cache.key(f"forged-{_}") is None
    assert issuer.fetches == 1


async def test_an_unreachable_issuer_is_its_own_error() -> None:
    cache = JwksCache(Issuer(OSError("connection refused")).fetch, 30, Clock())

    with pytest.raises(IssuerUnavailable):
        await cache.key(kid(OLD))


async def test_non_signing_and_foreign_keys_are_ignored() -> None:
    document = {"keys": [{**jwks(OLD)["keys"][0], "use": "enc"}, {"kty": "EC", "kid": "ec"}]}
    cache = JwksCache(Issuer(document).fetch, 30, Clock())

    assert await cache.key(kid(OLD)) is None
    assert await cache.key("ec") is None


async def test_a_missing_jwks_file_is_an_empty_key_set(tmp_path: Path) -> None:
    assert await file_jwks(tmp_path / "jwks.json")() == {"keys": []}
