"""`ostock token`: a bearer token from the local development issuer."""

import re
from typing import Annotated

import typer

from ostock.auth.configured import AuthConfigError, dev_issuer
from ostock.auth.dev_issuer import Role
from ostock.settings import Settings

_TTL = re.compile(r"(\d+)([smhd]?)")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _seconds(ttl: str) -> int:
    match = _TTL.fullmatch(ttl.strip())
    if match is None or int(match[1]) == 0:
        raise typer.BadParameter(f"{ttl!r} is no duration: use e.g. 90s, 30m, 1h or 1d.")
    return int(match[1]) * _UNIT_S[match[2]]


def token(
    role: Annotated[Role, typer.Option(help="admin may write and read, user may read.")],
    user: Annotated[str, typer.Option(help="preferred_username of the token.")] = "developer",
    ttl: Annotated[str, typer.Option(help="Lifetime: 90s, 30m, 1h, 1d.")] = "1h",
) -> None:
    """Print a token signed by the development issuer (refused with profile=production)."""
    ttl_s = _seconds(ttl)
    try:
        issuer = dev_issuer(Settings())
    except AuthConfigError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    typer.echo(issuer.mint(role, user, ttl_s))
