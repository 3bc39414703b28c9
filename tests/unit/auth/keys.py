"""Keys and tokens made in the tests: an issuer of their own, and forgers."""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ostock.auth.dev_issuer import public_jwk

ISSUER = "https://keycloak.example/realms/ostock"
AUDIENCE = "ostock"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks(*keys: rsa.RSAPrivateKey) -> dict[str, Any]:
    return {"keys": [public_jwk(key.public_key()) for key in keys]}


def kid(key: rsa.RSAPrivateKey) -> str:
    return public_jwk(key.public_key())["kid"]


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "f6c1a5e0-0000-4000-8000-000000000001",
        "preferred_username": "ada",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "resource_access": {"ostock": {"roles": ["USER"]}},
    }
    return {**base, **overrides}


def signed(key: rsa.RSAPrivateKey, payload: Mapping[str, Any], key_id: str | None = None) -> str:
    """An RS256 token; its kid is the key's own unless `key_id` says otherwise."""
    return jwt.encode(dict(payload), key, algorithm="RS256", headers={"kid": key_id or kid(key)})


def hs256_with_public_key(key: rsa.RSAPrivateKey, payload: Mapping[str, Any]) -> str:
    """Algorithm confusion: HMAC keyed with the public key's PEM (PyJWT refuses to make it)."""
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": kid(key)}
    signing_input = f"{_b64(header)}.{_b64(payload)}"
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def unsigned(key: rsa.RSAPrivateKey, payload: Mapping[str, Any]) -> str:
    """alg none, with an empty signature."""
    return f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': kid(key)})}.{_b64(payload)}."


def _b64(part: Mapping[str, Any]) -> str:
    raw = json.dumps(dict(part), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
