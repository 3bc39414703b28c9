"""Bearer tokens from the development issuer, as the tests' clients send them."""

from ostock.auth.configured import dev_issuer
from ostock.auth.dev_issuer import Role
from ostock.settings import Settings

TEST_USER = "tester"


def bearer(settings: Settings, role: Role = "admin", user: str = TEST_USER) -> dict[str, str]:
    """An Authorization header with a fresh token of the settings' development issuer."""
    token = dev_issuer(settings).mint(role, user, ttl_s=3600)
    return {"Authorization": f"Bearer {token}"}
