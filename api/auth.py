"""The one bearer-token dependency of every /v1 route: 401 without a valid token, 403
without the role; GET reads need a user role, every other method the admin role."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.problems import Problem
from ostock.auth.jwks import IssuerUnavailable
from ostock.auth.roles import Access
from ostock.auth.tokens import Identity, InvalidToken, TokenVerifier

_bearer = HTTPBearer(
    auto_error=False, bearerFormat="JWT", description="An RS256 JWT from the issuer."
)
_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_REALM = 'Bearer realm="ostock"'


async def get_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Identity:
    """The verified caller, allowed this request's access."""
    if credentials is None:
        raise Problem(401, "A bearer token is required.", {"WWW-Authenticate": _REALM})
    verifier: TokenVerifier = request.app.state.verifier
    try:
        caller = await verifier.verify(credentials.credentials)
    except InvalidToken as error:
        raise Problem(
            401, str(error), {"WWW-Authenticate": _challenge("invalid_token", error)}
        ) from error
    except IssuerUnavailable as error:
        raise Problem(503, str(error)) from error
    access = access_for(request.method)
    if not caller.may(access):
        reason = f"The {'user' if access == 'read' else 'admin'} role is required."
        header = _challenge("insufficient_scope", reason)
        raise Problem(403, reason, {"WWW-Authenticate": header})
    return caller


def access_for(method: str) -> Access:
    """What a request of this HTTP method needs: reading or writing."""
    return "read" if method in _READS else "write"


def _challenge(error: str, description: object) -> str:
    text = str(description).replace('"', "'")
    return f'{_REALM}, error="{error}", error_description="{text}"'


CallerDep = Annotated[Identity, Depends(get_caller)]
