"""Commands in through the API, views out of Redis: the organization flow end to end."""

import time

import httpx
import pytest

from tests.integration.conftest import wait_for_status

pytestmark = pytest.mark.integration


@pytest.fixture
def api(deployed_api: httpx.Client) -> httpx.Client:
    """The API of the system on the single broker, then on the Kafka cluster."""
    return deployed_api


ACME = {
    "name": "Acme",
    "contact_name": "Ada",
    "contact_email": "ada@acme.example",
    "contact_phone": "+1 555 0100",
}


def create(api: httpx.Client, body: dict[str, str] = ACME) -> dict[str, str]:
    response = api.post("/v1/organizations", json=body)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert response.headers["location"] == f"/v1/commands/{accepted['command_id']}"
    return dict(accepted)


def read_view(api: httpx.Client, organization_id: str, version: int) -> httpx.Response:
    """The view once the projector has reached `version` (the status says accepted first)."""
    deadline = time.monotonic() + 10
    while True:
        response = api.get(f"/v1/organizations/{organization_id}")
        if response.status_code == 200 and response.json()["version"] >= version:
            return response
        if time.monotonic() > deadline:
            return response
        time.sleep(0.05)


def test_post_then_get(api: httpx.Client) -> None:
    accepted = create(api, ACME | {"website": "https://acme.example"})
    status = wait_for_status(api, accepted["command_id"])
    assert (status["status"], status["version"]) == ("accepted", 1)
    view = read_view(api, accepted["organization_id"], 1).json()
    assert view["name"] == "Acme"
    assert view["contact_email"] == "ada@acme.example"
    assert view["website"] == "https://acme.example"
    assert view["status"] == "active"
    assert view["organization_id"] == accepted["organization_id"]


def test_update_with_a_stale_version_is_rejected_with_a_reason(api: httpx.Client) -> None:
    accepted = create(api)
    organization_id = accepted["organization_id"]
    wait_for_status(api, accepted["command_id"])
    update = api.put(
        f"/v1/organizations/{organization_id}",
        json=ACME | {"name": "Acme Ltd", "expected_version": 1},
    )
    assert update.status_code == 202
    assert wait_for_status(api, update.json()["command_id"])["version"] == 2
    stale = api.put(
        f"/v1/organizations/{organization_id}", json=ACME | {"name": "Late", "expected_version": 1}
    )
    status = wait_for_status(api, stale.json()["command_id"])
    assert status["status"] == "rejected"
    assert status["error_code"] == "version-conflict"
    assert "expected version 1" in status["error_message"]
    assert read_view(api, organization_id, 2).json()["name"] == "Acme Ltd"


def test_a_deleted_organization_reads_as_404(api: httpx.Client) -> None:
    accepted = create(api)
    organization_id = accepted["organization_id"]
    wait_for_status(api, accepted["command_id"])
    deleted = api.delete(f"/v1/organizations/{organization_id}")
    assert deleted.status_code == 202
    assert wait_for_status(api, deleted.json()["command_id"])["status"] == "accepted"
    deadline = time.monotonic() + 10
    while (response := api.get(f"/v1/organizations/{organization_id}")).status_code != 404:
        assert time.monotonic() < deadline, response.text
        time.sleep(0.05)
    assert response.headers["content-type"].startswith("application/problem+json")


def test_invalid_input_is_a_422_problem(api: httpx.Client) -> None:
    response = api.post("/v1/organizations", json={"name": "  ", "contact_email": "nope"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 422


def test_unknown_organization_and_command_are_404(api: httpx.Client) -> None:
    assert api.get("/v1/organizations/00000000-0000-4000-8000-000000000000").status_code == 404
    assert api.get("/v1/commands/00000000-0000-4000-8000-000000000000").status_code == 404


def test_health_and_docs(api: httpx.Client) -> None:
    assert api.get("/health/live").status_code == 200
    assert api.get("/health/ready").status_code == 200
    assert api.get("/docs").status_code == 200
    assert "/v1/organizations" in api.get("/openapi.json").json()["paths"]
