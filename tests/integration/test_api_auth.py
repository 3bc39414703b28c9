"""Bearer tokens through the real API process, minted by the development issuer."""

import subprocess
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from ostock.infra.ports import free_port
from ostock.settings import Settings
from tests.auth import bearer
from tests.integration.conftest import wait_for_status
from tests.processes import Worker

pytestmark = pytest.mark.integration


def test_a_user_reads_but_may_not_write(api: httpx.Client, system_settings: Settings) -> None:
    accepted = api.post("/v1/organizations", json={"name": "Acme"}).json()
    version = wait_for_status(api, accepted["command_id"])["version"]
    user = bearer(system_settings, "user", "bob")

    path = f"/v1/organizations/{accepted['organization_id']}"
    read = api.get(path, params={"min_version": version}, headers=user)
    write = api.put(path, json={"name": "Bob's"}, headers=user)

    assert read.status_code == 200
    assert write.status_code == 403
    assert write.headers["content-type"] == "application/problem+json"


def test_no_token_is_401(api: httpx.Client) -> None:
    response = httpx.get(f"{api.base_url}/v1/organizations/{uuid4()}")

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_the_history_names_who_changed_what(api: httpx.Client, system_settings: Settings) -> None:
    grace = bearer(system_settings, "admin", "grace")
    accepted = api.post("/v1/organizations", json={"name": "Acme"}, headers=grace).json()
    version = wait_for_status(api, accepted["command_id"])["version"]

    history = api.get(
        f"/v1/organizations/{accepted['organization_id']}/events",
        params={"min_version": version},
    ).json()

    assert history["events"][0]["issued_by"].startswith("grace (")


def test_the_api_refuses_to_start_in_production_with_the_development_issuer(
    system_settings: Settings, tmp_path: Path
) -> None:
    production = system_settings.model_copy(
        update={"profile": "production", "api_port": free_port()}
    )
    worker = Worker(["api"], production, tmp_path / "api.log").start()
    assert worker.process is not None
    try:
        code = worker.process.wait(30)
    except subprocess.TimeoutExpired:
        worker.kill()
        raise

    assert code != 0
    assert "development issuer is refused with profile=production" in worker.output()
