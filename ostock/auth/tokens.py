"""Checking a bearer token: RS256 only, a key from the JWKS, issuer, audience, time."""

import time
from dataclasses import dataclass, field
from typing import Any

import jwt

from ostock.auth.jwks import JwksCache
from ostock.auth.roles import Access, allows, roles_of

ALGORITHM = "RS256"
#: Verified tokens remembered at most; a client sends the same token many times,
#: and an RS256 check is a large share of a view read (docs/performance.md).
VERIFIED_MAX = 10_000


class InvalidToken(Exception):
    """The token is refused; the message says why (safe to show the caller)."""


@dataclass(frozen=True)
class Identity:
    """Who a verified token speaks for."""

    subject: str
    username: str | None
    roles: frozenset[str]

    def may(self, access: Access) -> bool:
        return allows(self.roles, access)

    @property
    def issued_by(self) -> str:
        """How commands name their issuer: "username (subject)"."""
        return f"{self.username} ({self.subject})" if self.username else self.subject


@dataclass(frozen=True)
class TokenVerifier:
    """Verifies tokens of one issuer for one audience."""

    keys: JwksCache
    issuer: str
    audience: str
    client: str
    leeway_s: float
    _verified: dict[str, tuple[Identity, float, float]] = field(
        default_factory=dict, compare=False, repr=False
    )

    async def verify(self, token: str) -> Identity:
        """The token's identity, or InvalidToken (IssuerUnavailable if the keys cannot be read).

        A token verified before is answered from memory while its time window holds;
        outside it, it is checked in full again (and refused with the reason).
        """
        identity = self.remembered(token)
        if identity is not None:
            return identity
        identity, claims = await self._check(token)
        if len(self._verified) >= VERIFIED_MAX:
            self._verified.clear()
        self._verified[token] = (identity, float(claims.get("nbf", 0)), float(claims["exp"]))
        return identity

    def remembered(self, token: str) -> Identity | None:
        """The identity of a token verified before, while its time window holds; else None
        (a token remembered past its window is forgotten). No I/O: a dict lookup."""
        remembered = self._verified.get(token)
        if remembered is None:
            return None
        identity, not_before, expires = remembered
        if not_before - self.leeway_s <= time.time() < expires + self.leeway_s:
            return identity
        self._verified.pop(token, None)
        return None

    async def _check(self, token: str) -> tuple[Identity, dict[str, Any]]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as error:
            raise InvalidToken("The token is malformed.") from error
        # Checked before any key is touched: alg none and HS256 (public key as secret) end here.
        if header.get("alg") != ALGORITHM:
            raise InvalidToken(f"The token must be signed with {ALGORITHM}.")
        kid = header.get("kid")
        key = await self.keys.key(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidToken("The token's signing key is unknown.")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise InvalidToken("The token has expired.") from error
        except jwt.ImmatureSignatureError as error:
            raise InvalidToken("The token is not valid yet.") from error
        except jwt.InvalidAudienceError as error:
            raise InvalidToken("The token is not meant for this audience.") from error
        except jwt.InvalidIssuerError as error:
            raise InvalidToken("The token comes from an untrusted issuer.") from error
        except jwt.InvalidSignatureError as error:
            raise InvalidToken("The token's signature is invalid.") from error
        except jwt.InvalidTokenError as error:
            raise InvalidToken(f"The token is invalid: {error}.") from error
        username = claims.get("preferred_username")
        identity = Identity(
            subject=str(claims["sub"]),
            username=username if isinstance(username, str) else None,
            roles=roles_of(claims, self.client),
        )
        return identity, claims
