"""License routes against fake Kafka and Redis edges: commands out, enriched views back."""

from typing import Any
from uuid import UUID, uuid4

import httpx
import orjson
import pytest

from tests.unit.api.assertions import problem
from tests.unit.api.fakes import FakePublisher, FakeViews

OFFICE = {"product_name": "Office", "license_type": "user", "description": "50 seats"}


def licenses_of(organization_id: str) -> str:
    return f"/v1/organizations/{organization_id}/licenses"


def license_body(organization_id: str, license_id: str, status: str = "active") -> bytes:
    return orjson.dumps(
        {
            "license_id": license_id,
            "organization_id": organization_id,
            "product_name": "Office",
            "status": status,
            "version": 1,
            "organization_name": "Acme",
        }
    )


async def test_create_publishes_create_license_and_answers_202_with_both_ids(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    organization_id = str(uuid4())
    body = {**OFFICE, "product_name": "  Office  "}
    response = await client.post(licenses_of(organization_id), json=body)

    assert response.status_code == 202, response.text
    answer = response.json()
    assert list(answer) == ["command_id", "organization_id", "license_id", "status"]
    assert answer["organization_id"] == organization_id
    assert answer["status"] == "pending"
    assert response.headers["location"] == f"/v1/commands/{answer['command_id']}"
    sent = publisher.last
    assert sent.topic == "ostock.license.commands"
    assert sent.organization_id == organization_id  # keyed by organization: co-partitioned
    record = sent.decoded()
    assert record.name == "ostock.license.CreateLicense"
    assert record.fields["product_name"] == "Office"  # stripped
    assert record.fields["license_type"] == "user"
    assert record.fields["description"] == "50 seats"
    assert record.fields["comment"] == ""
    meta = record.fields["meta"]
    assert meta["command_id"] == answer["command_id"]
    assert meta["aggregate_id"] == answer["license_id"]
    assert meta["organization_id"] == organization_id
    assert meta["expected_version"] is None
    assert meta["correlation_id"] == response.headers["x-correlation-id"]


async def test_a_retried_create_targets_the_same_license(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    organization_id, key = str(uuid4()), str(uuid4())
    headers = {"Idempotency-Key": key}
    first = await client.post(licenses_of(organization_id), json=OFFICE, headers=headers)
    retry = await client.post(licenses_of(organization_id), json=OFFICE, headers=headers)
    organization = await client.post("/v1/organizations", json={"name": "A"}, headers=headers)

    assert first.json() == retry.json()
    assert first.json()["command_id"] == key
    assert UUID(first.json()["license_id"])
    # The same key never names an organization and a license alike.
    assert first.json()["license_id"] != organization.json()["organization_id"]
    assert [p.decoded().fields["meta"]["aggregate_id"] for p in publisher.sent[:2]] == [
        first.json()["license_id"]
    ] * 2


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"license_type": "user"}, "#/product_name"),
        ({"product_name": "  ", "license_type": "user"}, "#/product_name"),
        ({"product_name": "x" * 201, "license_type": "user"}, "#/product_name"),
        ({"product_name": "Office"}, "#/license_type"),
        ({"product_name": "Office", "license_type": " "}, "#/license_type"),
        ({"product_name": "Office", "license_type": "x" * 51}, "#/license_type"),
        ({**OFFICE, "description": "x" * 2001}, "#/description"),
        ({**OFFICE, "comment": "x" * 2001}, "#/comment"),
        ({**OFFICE, "seats": 50}, "#/seats"),  # unknown: rejected
    ],
)
async def test_invalid_licenses_are_refused_before_kafka(
    client: httpx.AsyncClient, publisher: FakePublisher, body: dict[str, object], pointer: str
) -> None:
    response = await client.post(licenses_of(str(uuid4())), json=body)

    errors = problem(response, 422)["errors"]
    assert [error["pointer"] for error in errors] == [pointer]
    assert publisher.sent == []


async def test_the_longest_valid_fields_pass(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    body = {"product_name": "p" * 200, "license_type": "t" * 50, "comment": "c" * 2000}
    response = await client.post(licenses_of(str(uuid4())), json=body)

    assert response.status_code == 202, response.text
    assert publisher.last.decoded().fields["license_type"] == "t" * 50


async def test_update_carries_every_field_and_the_expected_version(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    organization_id, license_id = str(uuid4()), str(uuid4())
    body = {"product_name": "Office", "license_type": "site", "expected_version": 2}
    response = await client.put(f"{licenses_of(organization_id)}/{license_id}", json=body)

    assert response.status_code == 202
    assert response.json()["license_id"] == license_id
    record = publisher.last.decoded()
    assert record.name == "ostock.license.UpdateLicense"
    assert record.fields["license_type"] == "site"
    assert record.fields["description"] == ""
    assert record.fields["meta"]["aggregate_id"] == license_id
    assert record.fields["meta"]["organization_id"] == organization_id
    assert record.fields["meta"]["expected_version"] == 2


async def test_delete_publishes_delete_license(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    organization_id, license_id = str(uuid4()), str(uuid4())
    path = f"{licenses_of(organization_id)}/{license_id}"
    response = await client.delete(path, params={"expected_version": 4})

    assert response.status_code == 202
    assert response.json()["license_id"] == license_id
    record = publisher.last.decoded()
    assert record.name == "ostock.license.DeleteLicense"
    assert record.fields["meta"]["aggregate_id"] == license_id
    assert record.fields["meta"]["expected_version"] == 4
    assert publisher.last.organization_id == organization_id


async def test_a_negative_expected_version_is_refused(client: httpx.AsyncClient) -> None:
    path = f"{licenses_of(str(uuid4()))}/{uuid4()}"
    put = await client.put(path, json={**OFFICE, "expected_version": -1})
    delete = await client.delete(path, params={"expected_version": -1})

    assert problem(put, 422)["errors"][0]["pointer"] == "#/expected_version"
    assert problem(delete, 422)["errors"][0]["parameter"] == "expected_version"


async def test_a_license_is_served_byte_for_byte(
    client: httpx.AsyncClient, views: FakeViews
) -> None:
    organization_id, license_id = str(uuid4()), str(uuid4())
    stored = license_body(organization_id, license_id)
    views.license_views[(organization_id, license_id)] = stored

    response = await client.get(f"{licenses_of(organization_id)}/{license_id.upper()}")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == stored


async def test_a_missing_or_deleted_license_is_not_found(
    client: httpx.AsyncClient, views: FakeViews
) -> None:
    organization_id, deleted = str(uuid4()), str(uuid4())
    views.license_views[(organization_id, deleted)] = license_body(
        organization_id, deleted, status="deleted"
    )

    for license_id in (deleted, str(uuid4())):
        path = f"{licenses_of(organization_id)}/{license_id}"
        assert problem(await client.get(path), 404)["instance"] == path


async def test_ids_must_be_uuids(client: httpx.AsyncClient) -> None:
    bad_license = await client.get(f"{licenses_of(str(uuid4()))}/office")
    bad_organization = await client.post(licenses_of("acme"), json=OFFICE)

    assert problem(bad_license, 422)["errors"][0]["parameter"] == "license_id"
    assert problem(bad_organization, 422)["errors"][0]["parameter"] == "organization_id"


async def test_openapi_documents_the_license_routes(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    paths = schema["paths"]
    read = paths["/v1/organizations/{organization_id}/licenses/{license_id}"]["get"]
    listing = paths["/v1/organizations/{organization_id}/licenses"]["get"]
    history = paths["/v1/organizations/{organization_id}/licenses/{license_id}/events"]["get"]

    assert read["summary"] == "Read a license"
    assert set(read["responses"]["409"]["content"]) == {"application/problem+json"}
    assert {"404", "422", "503"} <= set(read["responses"])

    def model(operation: dict[str, Any]) -> str:
        ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        return str(ref).rsplit("/", 1)[-1]

    assert model(read) == "LicensePublic"
    assert model(listing) == "LicensePage"
    assert model(history) == "History"
    parameters = {p["name"]: p for p in listing["parameters"]}
    assert parameters["limit"]["schema"]["maximum"] == 200
    assert {"min_version", "wait_s"} <= {p["name"] for p in read["parameters"]}
