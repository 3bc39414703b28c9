"""Token checks: what is accepted, and every reason a token is refused."""

import time
from collections.abc import Mapping
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from ostock.auth.jwks import JwksCache
from ostock.auth.tokens import InvalidToken, TokenVerifier
from tests.unit.auth.keys import (
    AUDIENCE,
    ISSUER,
    claims,
    hs256_with_public_key,
    jwks,
    kid,
    new_key,
    signed,
    unsigned,
)


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return new_key()


@pytest.fixture
def verifier(key: rsa.RSAPrivateKey) -> TokenVerifier:
    async def fetch() -> Mapping[str, Any]:
        return jwks(key)

    return TokenVerifier(JwksCache(fetch, 30), ISSUER, AUDIENCE, "ostock", leeway_s=30)


async def test_a_valid_token_names_its_subject_username_and_roles(
    verifier: TokenVerifier, key: rsa.RSAPrivateKey
) -> None:
    identity = await verifier.verify(signed(key, claims()))

    assert identity.subject == "f6c1a5e0-0000-4000-8000-000000000001"
    assert identity.username == "ada"
    assert identity.roles == {"USER"}
    assert identity.issued_by == "ada (f6c1a5e0-0000-4000-8000-000000000001)"


async def test_times_within_the_leeway_pass(
    verifier: TokenVerifier, key: rsa.RSAPrivateKey
) -> None:
    now = int(time.time())
    await verifier.verify(signed(key, claims(exp=now - 10, nbf=now + 10)))


def _refusals(key: rsa.RSAPrivateKey) -> dict[str, tuple[str, str]]:
    now = int(time.time())
    return {
        "malformed": ("not.a.token", "malformed"),
        "bad signature": (signed(new_key(), claims(), key_id=kid(key)), "signature"),
        "alg none": (unsigned(key, claims()), "RS256"),
        "HS256 keyed with the public key": (hs256_with_public_key(key, claims()), "RS256"),
        "expired": (signed(key, claims(exp=now - 120)), "expired"),
        "not yet valid": (signed(key, claims(nbf=now + 120)), "not valid yet"),
        "wrong issuer": (signed(key, claims(iss="https://evil.example")), "issuer"),
        "wrong audience": (signed(key, claims(aud="another-api")), "audience"),
        "unknown kid": (signed(new_key(), claims()), "key is unknown"),
        "no subject": (signed(key, {k: v for k, v in claims().items() if k != "sub"}), "sub"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "malformed",
        "bad signature",
        "alg none",
        "HS256 keyed with the public key",
        "expired",
        "not yet valid",
        "wrong issuer",
        "wrong audience",
        "unknown kid",
        "no subject",
    ],
)
async def test_refused(verifier: TokenVerifier, key: rsa.RSAPrivateKey, case: str) -> None:
    token, reason = _refusals(key)[case]

    with pytest.raises(InvalidToken, match=reason):
        await verifier.verify(token)


async def test_a_remembered_token_still_expires(key: rsa.RSAPrivateKey) -> None:
    fetches = 0

    async def fetch() -> Mapping[str, Any]:
        nonlocal fetches
        fetches += 1
        return jwks(key)

    verifier = TokenVerifier(JwksCache(fetch, 30), ISSUER, AUDIENCE, "ostock", leeway_s=0)
    expires = int(time.time()) + 3  # seconds enough for the checks below on a loaded machine
    token = signed(key, claims(exp=expires))
    assert verifier.remembered(token) is None
    first = await verifier.verify(token)
    assert await verifier.verify(token) == first
    assert verifier.remembered(token) == first
    assert fetches == 1
    time.sleep(expires + 0.1 - time.time())
    assert verifier.remembered(token) is None
    with pytest.raises(InvalidToken, match="expired"):
        await verifier.verify(token)
