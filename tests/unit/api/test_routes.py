"""The API's routes against fake Kafka and Redis edges: what goes out, what comes back."""

import re
from uuid import UUID, uuid4

import httpx
import orjson
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.auth import TEST_USER
from tests.unit.api.assertions import problem
from tests.unit.api.fakes import FakePublisher, FakeViews

ACME = {"name": "Acme", "contact_name": "Ada", "contact_email": "ada@acme.example"}
TRACEPARENT = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")


async def test_create_publishes_the_command_and_answers_202(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    response = await client.post("/v1/organizations", json={**ACME, "name": "  Acme  "})

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending"
    assert response.headers["location"] == f"/v1/commands/{body['command_id']}"
    sent = publisher.last
    assert sent.topic == "ostock.organization.commands"
    assert sent.organization_id == body["organization_id"]
    record = sent.decoded()
    assert record.name == "ostock.organization.CreateOrganization"
    assert record.fields["name"] == "Acme"  # stripped
    assert record.fields["contact_email"] == "ada@acme.example"
    assert record.fields["contact_phone"] == ""
    assert record.fields["website"] is None
    meta = record.fields["meta"]
    assert meta["command_id"] == body["command_id"]
    assert meta["aggregate_id"] == meta["organization_id"] == body["organization_id"]
    assert meta["expected_version"] is None
    assert re.fullmatch(rf"{TEST_USER} \([0-9a-f-]{{36}}\)", meta["issued_by"])
    assert meta["correlation_id"] == sent.correlation_id == response.headers["x-correlation-id"]
    assert TRACEPARENT.fullmatch(sent.traceparent)


async def test_an_idempotency_key_becomes_the_command_id_and_fixes_the_organization_id(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    key = str(uuid4())
    first = await client.post("/v1/organizations", json=ACME, headers={"Idempotency-Key": key})
    retry = await client.post("/v1/organizations", json=ACME, headers={"Idempotency-Key": key})

    assert first.json() == retry.json()
    assert first.json()["command_id"] == key
    assert [p.decoded().fields["meta"]["command_id"] for p in publisher.sent] == [key, key]


async def test_an_idempotency_key_must_be_a_uuid(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    response = await client.post(
        "/v1/organizations", json=ACME, headers={"Idempotency-Key": "again"}
    )

    assert problem(response, 422)["errors"][0]["header"] == "idempotency-key"
    assert publisher.sent == []


async def test_the_callers_correlation_id_and_traceparent_travel_with_the_command(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    headers = {"X-Correlation-ID": "order-42", "traceparent": trace}
    response = await client.post("/v1/organizations", json=ACME, headers=headers)

    assert response.headers["x-correlation-id"] == "order-42"
    assert publisher.last.correlation_id == "order-42"
    assert publisher.last.decoded().fields["meta"]["correlation_id"] == "order-42"
    assert publisher.last.traceparent == trace


async def test_a_malformed_traceparent_starts_a_new_trace(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    await client.post("/v1/organizations", json=ACME, headers={"traceparent": "00-zz-01"})

    assert TRACEPARENT.fullmatch(publisher.last.traceparent)


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"contact_name": "Ada"}, "#/name"),
        ({"name": "   "}, "#/name"),
        ({"name": "x" * 201}, "#/name"),
        ({"name": "Acme", "contact_name": "x" * 201}, "#/contact_name"),
        ({"name": "Acme", "contact_email": "ada@"}, "#/contact_email"),
        ({"name": "Acme", "contact_phone": "1" * 41}, "#/contact_phone"),
        ({"name": "Acme", "contact_phone": "call me"}, "#/contact_phone"),
        ({"name": "Acme", "homepage": "https://acme.example"}, "#/homepage"),  # unknown field
        ({"name": "Acme", "website": "acme.example"}, "#/website"),
        ({"name": "Acme", "website": "ftp://acme.example"}, "#/website"),
        ({"name": "Acme", "website": "https://acme.example/" + "p" * 2048}, "#/website"),
        ({"name": "Acme", "website": 42}, "#/website"),
    ],
)
async def test_invalid_organizations_are_refused_before_kafka(
    client: httpx.AsyncClient, publisher: FakePublisher, body: dict[str, object], pointer: str
) -> None:
    response = await client.post("/v1/organizations", json=body)

    errors = problem(response, 422)["errors"]
    assert [error["pointer"] for error in errors] == [pointer]
    assert errors[0]["detail"] and errors[0]["code"]
    assert response.headers["x-correlation-id"]
    assert publisher.sent == []


async def test_update_carries_every_field_and_the_expected_version(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    organization_id = str(uuid4())
    body = {"name": "Acme Ltd", "contact_phone": "+44 (0)20 7946-0000", "expected_version": 3}
    response = await client.put(f"/v1/organizations/{organization_id}", json=body)

    assert response.status_code == 202
    assert response.json()["organization_id"] == organization_id
    record = publisher.last.decoded()
    assert record.name == "ostock.organization.UpdateOrganization"
    assert record.fields["contact_phone"] == "+44 (0)20 7946-0000"
    assert record.fields["contact_name"] == ""
    assert record.fields["meta"]["expected_version"] == 3
    assert publisher.last.organization_id == organization_id


async def test_the_website_is_published_stripped_and_a_blank_one_as_null(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    await client.post("/v1/organizations", json=ACME | {"website": " https://acme.example "})
    created = publisher.last.decoded()
    body = {"name": "Acme", "website": "", "expected_version": 1}
    await client.put(f"/v1/organizations/{created.fields['meta']['organization_id']}", json=body)
    updated = publisher.last.decoded()

    assert created.fields["website"] == "https://acme.example"
    assert updated.name == "ostock.organization.UpdateOrganization"
    assert updated.fields["website"] is None


async def test_a_negative_expected_version_is_refused(client: httpx.AsyncClient) -> None:
    path = f"/v1/organizations/{uuid4()}"
    put = await client.put(path, json={"name": "Acme", "expected_version": -1})
    delete = await client.delete(path, params={"expected_version": -1})

    assert problem(put, 422)["errors"][0]["pointer"] == "#/expected_version"
    assert problem(delete, 422)["errors"][0]["parameter"] == "expected_version"


async def test_delete_publishes_delete_organization(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    organization_id = str(uuid4())
    response = await client.delete(
        f"/v1/organizations/{organization_id}", params={"expected_version": 2}
    )

    assert response.status_code == 202
    record = publisher.last.decoded()
    assert record.name == "ostock.organization.DeleteOrganization"
    assert record.fields["meta"]["aggregate_id"] == organization_id
    assert record.fields["meta"]["expected_version"] == 2


async def test_an_organization_is_served_byte_for_byte(
    client: httpx.AsyncClient, views: FakeViews
) -> None:
    organization_id = str(uuid4())
    stored = orjson.dumps({"organization_id": organization_id, "status": "active", "version": 1})
    views.organizations[organization_id] = stored

    response = await client.get(f"/v1/organizations/{organization_id.upper()}")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == stored


async def test_a_missing_or_deleted_organization_is_not_found(
    client: httpx.AsyncClient, views: FakeViews
) -> None:
    deleted = str(uuid4())
    views.organizations[deleted] = orjson.dumps({"status": "deleted", "version": 3})

    for organization_id in (deleted, str(uuid4())):
        path = f"/v1/organizations/{organization_id}"
        response = await client.get(path)
        assert problem(response, 404)["instance"] == path


async def test_an_organization_id_must_be_a_uuid(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/organizations/acme")

    assert problem(response, 422)["errors"][0]["parameter"] == "organization_id"


async def test_command_status_is_served_or_not_found(
    client: httpx.AsyncClient, views: FakeViews
) -> None:
    command_id = str(uuid4())
    stored = orjson.dumps({"command_id": command_id, "status": "accepted", "version": 1})
    views.commands[command_id] = stored

    found = await client.get(f"/v1/commands/{command_id}")
    unknown = await client.get(f"/v1/commands/{uuid4()}")

    assert found.status_code == 200 and found.content == stored
    problem(unknown, 404)


async def test_kafka_down_is_503_with_retry_after_and_the_command_id_to_retry_with(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    publisher.down = True
    response = await client.post(
        "/v1/organizations", json=ACME, headers={"X-Correlation-ID": "c-1"}
    )

    body = problem(response, 503)
    assert response.headers["retry-after"] == "7"
    assert response.headers["x-correlation-id"] == "c-1"
    assert UUID(body["command_id"])
    assert body["command_id"] in body["detail"]


async def test_redis_down_is_503_with_retry_after(
    client: httpx.AsyncClient, views: FakeViews
) -> None:
    views.error = RedisConnectionError("Error 111 connecting to 10.0.0.7:6379")
    response = await client.get(f"/v1/organizations/{uuid4()}")

    assert "10.0.0.7" not in problem(response, 503)["detail"]
    assert response.headers["retry-after"] == "7"


async def test_an_unexpected_error_is_500_and_tells_nothing(
    client: httpx.AsyncClient, views: FakeViews
) -> None:
    views.error = RuntimeError("password=hunter2")
    response = await client.get(f"/v1/commands/{uuid4()}")

    problem(response, 500)
    assert "hunter2" not in response.text and "Traceback" not in response.text


async def test_routing_errors_are_problems(client: httpx.AsyncClient) -> None:
    problem(await client.get("/v2/nothing"), 404)
    not_allowed = await client.patch(f"/v1/organizations/{uuid4()}")
    problem(not_allowed, 405)
    assert not_allowed.headers["allow"]  # kept from the routing error


async def test_health(client: httpx.AsyncClient, publisher: FakePublisher) -> None:
    assert (await client.get("/health/live")).status_code == 200
    ready = await client.get("/health/ready")
    assert ready.json() == {"kafka": "up", "redis": "up"}

    publisher.down = True
    body = problem(await client.get("/health/ready"), 503)
    assert body["checks"] == {"kafka": "down", "redis": "up"}


async def test_openapi_documents_problems(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    read = schema["paths"]["/v1/organizations/{organization_id}"]["get"]

    assert read["summary"] == "Read an organization"
    assert set(read["responses"]["404"]["content"]) == {"application/problem+json"}
    assert set(read["responses"]["422"]["content"]) == {"application/problem+json"}
    assert (await client.get("/docs")).status_code == 200
