"""The development issuer: a private key only its owner reads, tokens the API accepts,
and nothing minted in production."""

import stat
from pathlib import Path

import jwt
import pytest
from typer.testing import CliRunner

from ostock.auth.configured import AuthConfigError, dev_issuer, token_verifier
from ostock.cli.main import app
from ostock.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(config_dir=tmp_path)


def test_the_key_pair_is_created_once_and_kept_private(settings: Settings) -> None:
    first = dev_issuer(settings).mint("user", "ada", ttl_s=60)
    second = dev_issuer(settings).mint("admin", "ada", ttl_s=60)

    key = settings.config_dir / "dev-issuer" / "private-key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert jwt.get_unverified_header(first)["kid"] == jwt.get_unverified_header(second)["kid"]


async def test_the_api_verifier_accepts_its_tokens(settings: Settings) -> None:
    token = dev_issuer(settings).mint("admin", "ada", ttl_s=60)

    identity = await token_verifier(settings).verify(token)

    assert identity.username == "ada"
    assert identity.may("write")


def test_production_refuses_the_development_issuer(settings: Settings) -> None:
    production = settings.model_copy(update={"profile": "production"})

    with pytest.raises(AuthConfigError, match="profile=production"):
        dev_issuer(production)
    with pytest.raises(AuthConfigError, match="profile=production"):
        token_verifier(production)


def test_ostock_token_prints_a_token_and_refuses_in_production(settings: Settings) -> None:
    env = {"OSTOCK_CONFIG_DIR": str(settings.config_dir)}
    runner = CliRunner()

    minted = runner.invoke(app, ["token", "--role", "user", "--user", "bob"], env=env)
    refused = runner.invoke(
        app, ["token", "--role", "admin"], env={**env, "OSTOCK_PROFILE": "production"}
    )

    assert minted.exit_code == 0
    claims = jwt.decode(minted.stdout.strip(), options={"verify_signature": False})
    assert claims["preferred_username"] == "bob"
    assert refused.exit_code == 1
    assert "profile=production" in refused.output
