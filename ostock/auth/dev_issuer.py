"""The local development issuer: an RS256 key pair outside the repo, and tokens it signs.

The private key is created on first use (mode 0600); the public half is written as
a JWKS next to it, which the API reads in the development profile.
"""

import base64
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from uuid import NAMESPACE_URL, uuid4, uuid5

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from ostock.auth.tokens import ALGORITHM

Role = Literal["admin", "user"]
PRIVATE_KEY = "private-key.pem"
JWKS = "jwks.json"
_ROLES: dict[Role, tuple[list[str], list[str]]] = {  # (realm roles, client roles)
    "user": (["ostock-user"], ["USER"]),
    "admin": (["ostock-user", "ostock-admin"], ["USER", "ADMIN"]),
}


def dev_issuer_dir(config_dir: Path) -> Path:
    return config_dir / "dev-issuer"


@dataclass(frozen=True)
class DevIssuer:
    """Mints tokens as Keycloak would shape them for the book's realm."""

    folder: Path
    issuer: str
    audience: str
    client: str

    def mint(self, role: Role, username: str, ttl_s: int) -> str:
        """A signed token for `username` with `role`, valid for `ttl_s` seconds."""
        key = self._private_key()
        now = int(time.time())
        realm_roles, client_roles = _ROLES[role]
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(uuid5(NAMESPACE_URL, f"{self.issuer}/{username}")),
            "preferred_username": username,
            "azp": self.client,
            "iat": now,
            "nbf": now,
            "exp": now + ttl_s,
            "jti": str(uuid4()),
            "realm_access": {"roles": realm_roles},
            "resource_access": {self.client: {"roles": client_roles}},
        }
        headers = {"kid": _thumbprint(key.public_key())}
        return jwt.encode(claims, key, algorithm=ALGORITHM, headers=headers)

    def _private_key(self) -> rsa.RSAPrivateKey:
        path = self.folder / PRIVATE_KEY
        if not path.exists():
            self._create(path)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key

    def _create(self, path: Path) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # The JWKS first, then the private key created exclusively, readable by its owner only.
        jwks = {"keys": [public_jwk(key.public_key())]}
        (self.folder / JWKS).write_text(json.dumps(jwks, indent=2))
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(pem)


def public_jwk(key: rsa.RSAPublicKey) -> dict[str, str]:
    """The public key as a JWK with a stable kid (its RFC 7638 thumbprint)."""
    jwk = RSAAlgorithm.to_jwk(key, as_dict=True)
    return {
        "kty": "RSA",
        "n": jwk["n"],
        "e": jwk["e"],
        "kid": _thumbprint(key),
        "use": "sig",
        "alg": ALGORITHM,
    }


def _thumbprint(key: rsa.RSAPublicKey) -> str:
    jwk = RSAAlgorithm.to_jwk(key, as_dict=True)
    canonical = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
