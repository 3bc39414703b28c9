"""/metrics: request counts by route template, open or behind a token as settings say."""

from pathlib import Path

import httpx
from fastapi import FastAPI

from api.main import create_app
from ostock.settings import Settings
from tests.auth import bearer


async def test_requests_are_counted_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/v1/organizations/3f0c6d8e-1111-4a4a-9999-000000000001")
    client.headers.pop("Authorization")
    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert (
        'ostock_api_requests_total{method="GET",route="/v1/organizations/{organization_id}",'
        'status="404"}' in response.text
    )
    assert "ostock_api_request_seconds_bucket" in response.text


async def test_metrics_need_a_token_where_settings_say_so(tmp_path: Path) -> None:
    settings = Settings(metrics_public=False, config_dir=tmp_path / "config")
    app: FastAPI = create_app(settings)
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as anonymous:
        assert (await anonymous.get("/metrics")).status_code == 401
        reader = await anonymous.get("/metrics", headers=bearer(settings, "user"))
        assert reader.status_code == 200
