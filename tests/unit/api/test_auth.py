"""Bearer tokens on the routes: 401 without a valid one, 403 without the role, health open."""

from uuid import uuid4

import httpx
import pytest

from ostock.settings import Settings
from tests.auth import bearer
from tests.unit.api.assertions import problem
from tests.unit.api.fakes import FakePublisher

ORGANIZATION = f"/v1/organizations/{uuid4()}"


@pytest.fixture
def anonymous(client: httpx.AsyncClient) -> httpx.AsyncClient:
    del client.headers["Authorization"]
    return client


async def test_no_token_is_401_with_a_bearer_challenge(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get(ORGANIZATION)

    body = problem(response, 401)
    assert body["detail"] == "A bearer token is required."
    assert response.headers["www-authenticate"] == 'Bearer realm="ostock"'


async def test_a_refused_token_is_401_invalid_token(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get(ORGANIZATION, headers={"Authorization": "Bearer x.y.z"})

    problem(response, 401)
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="ostock", error="invalid_token", error_description=')


async def test_a_user_reads(anonymous: httpx.AsyncClient, settings: Settings) -> None:
    response = await anonymous.get(ORGANIZATION, headers=bearer(settings, "user"))

    problem(response, 404)  # past the check: the organization does not exist


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
async def test_a_user_may_not_write(
    anonymous: httpx.AsyncClient, settings: Settings, publisher: FakePublisher, method: str
) -> None:
    path = "/v1/organizations" if method == "POST" else ORGANIZATION
    body = {"name": "Acme"} if method != "DELETE" else None
    response = await anonymous.request(method, path, json=body, headers=bearer(settings, "user"))

    assert problem(response, 403)["detail"] == "The admin role is required."
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert publisher.sent == []


async def test_an_issuer_outside_the_settings_is_refused(
    anonymous: httpx.AsyncClient, settings: Settings
) -> None:
    other = settings.model_copy(update={"auth_issuer": "urn:someone-else"})

    response = await anonymous.get(ORGANIZATION, headers=bearer(other, "admin"))

    assert "untrusted issuer" in problem(response, 401)["detail"]


async def test_health_and_docs_stay_open(anonymous: httpx.AsyncClient) -> None:
    assert (await anonymous.get("/health/live")).status_code == 200
    assert (await anonymous.get("/docs")).status_code == 200
    schema = (await anonymous.get("/openapi.json")).json()

    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    create = schema["paths"]["/v1/organizations"]["post"]
    assert create["security"] == [{"HTTPBearer": []}]
    assert {"401", "403"} <= set(create["responses"])
    assert "security" not in schema["paths"]["/health/live"]["get"]
