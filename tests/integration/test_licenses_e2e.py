"""Licenses through the API with every worker running: enrichment, the cascade,
pagination, history and read-your-writes."""

import time
from typing import Any

import httpx
import pytest

from tests.integration.conftest import wait_for_status

pytestmark = pytest.mark.integration


@pytest.fixture
def api(deployed_api: httpx.Client) -> httpx.Client:
    """The API of the system on the single broker, then on the Kafka cluster."""
    return deployed_api


ACME = {"name": "Acme", "contact_name": "Ada", "contact_email": "ada@acme.example"}
OFFICE = {"product_name": "Office", "license_type": "user", "description": "ten seats"}


def accepted(api: httpx.Client, response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    status = wait_for_status(api, response.json()["command_id"])
    assert status["status"] == "accepted", status
    return status


def new_organization(api: httpx.Client) -> str:
    response = api.post("/v1/organizations", json=ACME)
    accepted(api, response)
    return str(response.json()["organization_id"])


def eventually_enriched(api: httpx.Client, path: str, name: str = "Acme") -> dict[str, Any]:
    """The license view once the licensing service's organization copy says `name` (a
    license accepted may not be projected yet: its read answers 404 until it is)."""
    deadline = time.monotonic() + 10
    while (view := dict(api.get(path).json())).get("organization_name") != name:
        assert time.monotonic() < deadline, view
        time.sleep(0.05)
    return view


def licenses_path(organization_id: str) -> str:
    return f"/v1/organizations/{organization_id}/licenses"


def test_a_license_right_after_its_organization_is_accepted_and_enriched(
    api: httpx.Client,
) -> None:
    organization = api.post("/v1/organizations", json=ACME)
    organization_id = organization.json()["organization_id"]
    # No wait between the two 202s.
    grant = api.post(licenses_path(organization_id), json=OFFICE)
    status = accepted(api, grant)
    license_id = grant.json()["license_id"]
    path = f"{licenses_path(organization_id)}/{license_id}"
    read = api.get(path, params={"min_version": status["version"]})
    assert read.status_code == 200, read.text
    # The licensing service's copy of the organization is built by a projector of its
    # own: until it has the organization the enrichment reads null, never stale values.
    view = eventually_enriched(api, path)
    assert (view["product_name"], view["organization_name"], view["contact_email"]) == (
        "Office",
        "Acme",
        "ada@acme.example",
    )


def test_licenses_for_unknown_and_deleted_organizations_are_rejected(api: httpx.Client) -> None:
    unknown = api.post(licenses_path("7a1e9d1c-0000-4000-8000-00000000abcd"), json=OFFICE)
    status = wait_for_status(api, unknown.json()["command_id"])
    assert (status["status"], status["error_code"]) == ("rejected", "organization-not-found")

    organization_id = new_organization(api)
    accepted(api, api.delete(f"/v1/organizations/{organization_id}"))
    late = api.post(licenses_path(organization_id), json=OFFICE)
    status = wait_for_status(api, late.json()["command_id"])
    assert (status["status"], status["error_code"]) == ("rejected", "organization-deleted")


def test_an_organization_update_shows_in_its_licenses(api: httpx.Client) -> None:
    organization_id = new_organization(api)
    grant = api.post(licenses_path(organization_id), json=OFFICE)
    version = accepted(api, grant)["version"]
    license_path = f"{licenses_path(organization_id)}/{grant.json()['license_id']}"
    assert api.get(license_path, params={"min_version": version}).json()["contact_name"] == "Ada"

    update = api.put(
        f"/v1/organizations/{organization_id}",
        json=ACME | {"name": "Acme Ltd", "contact_name": "Grace"},
    )
    accepted(api, update)
    view = eventually_enriched(api, license_path, "Acme Ltd")
    assert (view["organization_name"], view["contact_name"]) == ("Acme Ltd", "Grace")


def test_deleting_an_organization_deletes_its_licenses_and_keeps_their_history(
    api: httpx.Client,
) -> None:
    organization_id = new_organization(api)
    grants = [api.post(licenses_path(organization_id), json=OFFICE) for _ in range(3)]
    for grant in grants:
        accepted(api, grant)
    accepted(api, api.delete(f"/v1/organizations/{organization_id}"))
    for grant in grants:
        path = f"{licenses_path(organization_id)}/{grant.json()['license_id']}"
        history = api.get(f"{path}/events", params={"min_version": 2}).json()["events"]
        assert [e["type"] for e in history] == ["LicenseCreated", "LicenseDeleted"]
        assert history[1]["issued_by"] == "saga:cascade-delete"
        assert api.get(path).status_code == 404
    page = api.get(licenses_path(organization_id)).json()
    assert (page["items"], page["total"]) == ([], 0)


def test_pagination_over_250_licenses_has_no_gaps_or_repeats(api: httpx.Client) -> None:
    organization_id = new_organization(api)
    grants = [
        api.post(licenses_path(organization_id), json=OFFICE | {"comment": str(i)})
        for i in range(250)
    ]
    wanted = {g.json()["license_id"] for g in grants}
    last = grants[-1]
    accepted(api, last)
    for grant in grants:
        wait_for_status(api, grant.json()["command_id"])

    seen: list[str] = []
    for _ in range(100):
        seen, cursor, total = [], None, 0
        while True:
            params: dict[str, str | int] = {"limit": 40}
            if cursor:
                params["cursor"] = cursor
            page = api.get(licenses_path(organization_id), params=params).json()
            seen += [item["license_id"] for item in page["items"]]
            total, cursor = page["total"], page["next_cursor"]
            if cursor is None:
                break
        if total == 250:
            break
    assert total == 250
    assert len(seen) == len(set(seen)) == 250
    assert set(seen) == wanted
    # A stable order: creation order, as the comments tell.
    comments = [
        api.get(f"{licenses_path(organization_id)}/{lid}").json()["comment"] for lid in seen[:5]
    ]
    assert comments == ["0", "1", "2", "3", "4"]


def test_history_lists_events_in_order_with_who_and_what(api: httpx.Client) -> None:
    organization_id = new_organization(api)
    accepted(api, api.put(f"/v1/organizations/{organization_id}", json=ACME | {"name": "Two"}))
    accepted(api, api.put(f"/v1/organizations/{organization_id}", json=ACME | {"name": "Three"}))
    events = api.get(f"/v1/organizations/{organization_id}/events", params={"min_version": 3})
    assert events.status_code == 200, events.text
    entries = events.json()["events"]
    assert [(e["type"], e["version"]) for e in entries] == [
        ("OrganizationCreated", 1),
        ("OrganizationUpdated", 2),
        ("OrganizationUpdated", 3),
    ]
    assert entries[2]["changes"]["name"] == "Three"
    assert all(e["command_id"] and e["occurred_at"] for e in entries)


def test_min_version_returns_the_new_version_without_a_client_retry(api: httpx.Client) -> None:
    organization_id = new_organization(api)
    update = api.put(f"/v1/organizations/{organization_id}", json=ACME | {"name": "Fresh"})
    version = accepted(api, update)["version"]
    read = api.get(f"/v1/organizations/{organization_id}", params={"min_version": version})
    assert read.status_code == 200
    assert (read.json()["version"], read.json()["name"]) == (2, "Fresh")
    behind = api.get(
        f"/v1/organizations/{organization_id}", params={"min_version": 9, "wait_s": 0.2}
    )
    assert behind.status_code == 409
    assert (behind.json()["view_version"], behind.json()["min_version"]) == (2, 9)


ENRICHMENT = ("organization_name", "contact_name", "contact_email", "contact_phone")
RENEWED = {
    "product_name": "Office 365",
    "license_type": "core-seat",
    "description": "twenty seats",
    "comment": "renewed",
}


def test_a_license_update_is_decided_projected_and_stays_enriched(api: httpx.Client) -> None:
    organization_id = new_organization(api)
    grant = api.post(licenses_path(organization_id), json=OFFICE)
    assert accepted(api, grant)["version"] == 1
    license_id = grant.json()["license_id"]
    path = f"{licenses_path(organization_id)}/{license_id}"
    # Wait for the organization copy first: from then on every read is enriched.
    before = eventually_enriched(api, path)

    update = api.put(path, json=RENEWED | {"expected_version": 1})
    assert update.json()["license_id"] == license_id
    status = accepted(api, update)
    assert (status["aggregate_id"], status["organization_id"]) == (license_id, organization_id)
    assert status["version"] == 2
    read = api.get(path, params={"min_version": 2})

    assert read.status_code == 200, read.text
    view = read.json()
    assert {field: view[field] for field in RENEWED} == RENEWED
    assert (view["version"], view["status"]) == (2, "active")
    assert (view["license_id"], view["organization_id"]) == (license_id, organization_id)
    assert view["created_at"] == before["created_at"]
    assert {field: view[field] for field in ENRICHMENT} == {
        field: before[field] for field in ENRICHMENT
    }
    assert (view["organization_name"], view["contact_name"], view["contact_email"]) == (
        "Acme",
        "Ada",
        "ada@acme.example",
    )
    page = api.get(licenses_path(organization_id)).json()
    assert (page["total"], [item["license_id"] for item in page["items"]]) == (1, [license_id])
    assert page["items"][0] == view
    history = api.get(f"{path}/events", params={"min_version": 2}).json()["events"]
    assert [(e["type"], e["version"]) for e in history] == [
        ("LicenseCreated", 1),
        ("LicenseUpdated", 2),
    ]
    assert {field: history[1]["changes"][field] for field in RENEWED} == RENEWED


def test_a_stale_or_misaddressed_license_update_is_rejected_and_changes_nothing(
    api: httpx.Client,
) -> None:
    organization_id = new_organization(api)
    grant = api.post(licenses_path(organization_id), json=OFFICE)
    accepted(api, grant)
    license_id = grant.json()["license_id"]
    path = f"{licenses_path(organization_id)}/{license_id}"
    accepted(api, api.put(path, json=RENEWED | {"expected_version": 1}))

    stale = api.put(path, json=OFFICE | {"comment": "stale", "expected_version": 1})
    assert stale.status_code == 202, stale.text
    status = wait_for_status(api, stale.json()["command_id"])
    assert (status["status"], status["error_code"]) == ("rejected", "version-conflict"), status
    assert status["version"] is None

    other_id = new_organization(api)
    misaddressed = api.put(f"{licenses_path(other_id)}/{license_id}", json=RENEWED)
    assert misaddressed.status_code == 202, misaddressed.text
    status = wait_for_status(api, misaddressed.json()["command_id"])
    assert (status["status"], status["error_code"]) == ("rejected", "not-found"), status
    assert status["organization_id"] == other_id

    view = api.get(path, params={"min_version": 2}).json()
    assert view["version"] == 2
    assert {field: view[field] for field in RENEWED} == RENEWED
    behind = api.get(path, params={"min_version": 3, "wait_s": 0.2})
    assert behind.status_code == 409, behind.text
    assert behind.json()["view_version"] == 2
    history = api.get(f"{path}/events").json()["events"]
    assert [e["type"] for e in history] == ["LicenseCreated", "LicenseUpdated"]
    assert api.get(f"{licenses_path(other_id)}/{license_id}").status_code == 404
    assert api.get(licenses_path(other_id)).json()["total"] == 0
