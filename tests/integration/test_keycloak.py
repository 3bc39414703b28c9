"""A real Keycloak with the ostock realm issues the tokens; the real API accepts and refuses
them by role.

Keycloak starts once for this module (ostock.infra.keycloak, as `ostock infra up --with
keycloak` starts it) on a free port in a temporary folder; its distribution is resolved once
per machine into the cache (scripts/setup --with-keycloak does it ahead of time).
"""

import json
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from ostock.infra.keycloak import REALM_FILE, KeycloakServer
from ostock.infra.ports import free_port
from ostock.settings import Settings
from tests.processes import Worker, wait_ready

pytestmark = pytest.mark.integration

CLIENT_SECRET = "ostock-local-secret"  # public: realm-ostock.json is for local use only


@pytest.fixture(scope="module")
def keycloak(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeycloakServer]:
    """Keycloak with the ostock realm imported, stopped at the module's end."""
    server = KeycloakServer(tmp_path_factory.mktemp("keycloak"), Settings().cache_dir, free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def api(
    keycloak: KeycloakServer, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    """The API as a process trusting Keycloak's realm, with the session's Kafka and Redis."""
    trusting = settings.model_copy(
        update={
            "api_port": free_port(),
            "auth_dev_issuer": False,
            "auth_issuer": keycloak.issuer,
            "auth_jwks_url": keycloak.jwks_url,
        }
    )
    worker = Worker(["api"], trusting, tmp_path_factory.mktemp("api") / "api.log").start()
    base = f"http://127.0.0.1:{trusting.api_port}"
    try:
        wait_ready(f"{base}/health/ready", {"api": worker})
        with httpx.Client(base_url=base, timeout=10) as client:
            yield client
    finally:
        worker.stop()


def password_grant(keycloak: KeycloakServer, username: str) -> str:
    """An access token for one of the realm's local users (password: USERNAME-local)."""
    form = {
        "grant_type": "password",
        "client_id": "ostock",
        "client_secret": CLIENT_SECRET,
        "username": username,
        "password": f"{username}-local",
    }
    response = httpx.post(keycloak.token_url, data=form, timeout=10)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_realm_file_holds_local_users_per_role() -> None:
    realm = json.loads(Path(REALM_FILE).read_text())

    users = {user["username"]: user["realmRoles"] for user in realm["users"]}

    assert users["ostock-user"] == ["ostock-user"]
    assert users["ostock-admin"] == ["ostock-admin"]


def test_a_user_token_reads_but_may_not_write(keycloak: KeycloakServer, api: httpx.Client) -> None:
    user = bearer(password_grant(keycloak, "ostock-user"))

    read = api.get(f"/v1/organizations/{uuid4()}", headers=user)
    write = api.post("/v1/organizations", json={"name": "Acme"}, headers=user)

    assert read.status_code == 404
    assert write.status_code == 403


def test_an_admin_token_writes(keycloak: KeycloakServer, api: httpx.Client) -> None:
    admin = bearer(password_grant(keycloak, "ostock-admin"))

    response = api.post("/v1/organizations", json={"name": "Acme"}, headers=admin)

    assert response.status_code == 202


def test_a_client_credentials_token_writes(keycloak: KeycloakServer, api: httpx.Client) -> None:
    form = {"grant_type": "client_credentials", "client_id": "ostock"}
    token = httpx.post(
        keycloak.token_url, data={**form, "client_secret": CLIENT_SECRET}, timeout=10
    ).json()["access_token"]

    response = api.post("/v1/organizations", json={"name": "Acme"}, headers=bearer(token))

    assert response.status_code == 202


def test_a_tampered_signature_is_401(keycloak: KeycloakServer, api: httpx.Client) -> None:
    head, payload, signature = password_grant(keycloak, "ostock-admin").split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]

    response = api.post(
        "/v1/organizations", json={"name": "Acme"}, headers=bearer(f"{head}.{payload}.{flipped}")
    )

    assert response.status_code == 401
