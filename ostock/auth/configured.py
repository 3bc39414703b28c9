"""The verifier the settings describe, and the refusal of the development issuer in production."""

from ostock.auth.dev_issuer import JWKS, DevIssuer, dev_issuer_dir
from ostock.auth.jwks import JwksCache, file_jwks, http_jwks
from ostock.auth.tokens import TokenVerifier
from ostock.settings import Settings


class AuthConfigError(Exception):
    """The settings describe no trustworthy issuer."""


def token_verifier(settings: Settings) -> TokenVerifier:
    """Checks tokens of the configured issuer; fetches nothing until the first token."""
    if settings.auth_dev_issuer:
        _refuse_in_production(settings)
        fetch = file_jwks(dev_issuer_dir(settings.config_dir) / JWKS)
    elif settings.auth_jwks_url:
        fetch = http_jwks(settings.auth_jwks_url, settings.auth_jwks_timeout_s)
    else:
        raise AuthConfigError("OSTOCK_AUTH_JWKS_URL is required without the development issuer.")
    return TokenVerifier(
        keys=JwksCache(fetch, settings.auth_jwks_refresh_s),
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        client=settings.auth_client,
        leeway_s=settings.auth_leeway_s,
    )


def dev_issuer(settings: Settings) -> DevIssuer:
    """The development issuer, unless the profile is production."""
    _refuse_in_production(settings)
    return DevIssuer(
        folder=dev_issuer_dir(settings.config_dir),
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        client=settings.auth_client,
    )


def _refuse_in_production(settings: Settings) -> None:
    if settings.profile == "production":
        raise AuthConfigError(
            "The development issuer is refused with profile=production: set "
            "OSTOCK_AUTH_DEV_ISSUER=false and OSTOCK_AUTH_ISSUER/OSTOCK_AUTH_JWKS_URL."
        )
