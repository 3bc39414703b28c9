"""Prometheus (ostock.infra.prometheus) scraping the running system: every process is a
target, the alert rules load and fire on real metrics, and every query of the Grafana
dashboard returns series once commands, a rejected one and poison records went through.

Prometheus starts once for this module on a free port, scraping every second."""

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ostock.deployables import PROCESSES, metrics_port
from ostock.infra.ports import free_port, free_port_block
from ostock.infra.prometheus import JOB, PrometheusServer, scrape_targets
from ostock.settings import Settings, settings_env
from tests.auth import bearer
from tests.integration.conftest import wait_for_status
from tests.monitoring import alert_rules, dashboard_queries
from tests.processes import Worker
from tests.projectors import produce

pytestmark = pytest.mark.integration

SCRAPE_S = 1.0
WAIT_S = 60.0
ACME = {"name": "Acme", "contact_name": "Ada", "contact_email": "ada@acme.example"}
OFFICE = {"product_name": "Office", "license_type": "user", "description": "ten seats"}
POISON = b"\x00 certainly not Avro"


@pytest.fixture(scope="module")
def prometheus(
    system: dict[str, Worker], system_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrometheusServer]:
    """A Prometheus scraping every process of the running system."""
    server = PrometheusServer(
        tmp_path_factory.mktemp("prometheus"),
        free_port(),
        scrape_targets(system_settings),
        scrape_interval_s=SCRAPE_S,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def exercised(system: dict[str, Worker], system_settings: Settings) -> None:
    """Commands through the API, accepted and rejected, reads, and a poison record on a
    command topic and on an event topic, so that every metric has series."""
    base = f"http://127.0.0.1:{system_settings.api_port}"
    headers = bearer(system_settings, "admin")
    with httpx.Client(base_url=base, timeout=10, headers=headers) as api:
        created = api.post("/v1/organizations", json=ACME).json()
        organization_id = created["organization_id"]
        assert wait_for_status(api, created["command_id"])["status"] == "accepted"
        stale = api.put(
            f"/v1/organizations/{organization_id}", json=ACME | {"expected_version": 7}
        ).json()
        assert wait_for_status(api, stale["command_id"])["status"] == "rejected"
        granted = api.post(f"/v1/organizations/{organization_id}/licenses", json=OFFICE).json()
        assert wait_for_status(api, granted["command_id"])["status"] == "accepted"
        # Read-your-writes: the projector may not have applied it yet.
        read = api.get(f"/v1/organizations/{organization_id}", params={"min_version": 1})
        assert read.status_code == 200
        assert api.get(f"/v1/organizations/{organization_id}/licenses").status_code == 200
    topics = system_settings.topics
    for topic in (topics.organization_commands, topics.organization_events):
        produce(system_settings, topic, [(organization_id.encode(), POISON)])


def query(server: PrometheusServer, expr: str) -> list[dict[str, Any]]:
    """The instant vector `expr` evaluates to now."""
    response = httpx.get(f"{server.url}/api/v1/query", params={"query": expr}, timeout=10)
    assert response.status_code == 200, f"{expr}: {response.text}"
    result: list[dict[str, Any]] = response.json()["data"]["result"]
    return result


def api_data(server: PrometheusServer, path: str) -> Any:
    response = httpx.get(f"{server.url}/api/v1/{path}", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_every_process_is_scraped_and_up(prometheus: PrometheusServer) -> None:
    deadline = time.monotonic() + WAIT_S
    while True:
        targets = api_data(prometheus, "targets")["activeTargets"]
        health = {target["labels"]["process"]: target["health"] for target in targets}
        if set(health.values()) == {"up"} or time.monotonic() > deadline:
            break
        time.sleep(SCRAPE_S)

    assert {target["labels"]["job"] for target in targets} == {JOB}
    assert health == dict.fromkeys(PROCESSES, "up")


def test_every_alert_rule_is_loaded_and_healthy(prometheus: PrometheusServer) -> None:
    groups = api_data(prometheus, "rules")["groups"]
    rules = {rule["name"]: rule["health"] for group in groups for rule in group["rules"]}

    assert rules == dict.fromkeys(alert_rules(), "ok")


def test_poison_records_fire_the_dead_letters_alert(
    prometheus: PrometheusServer, exercised: None
) -> None:
    deadline = time.monotonic() + WAIT_S
    firing: set[str] = set()
    while not firing and time.monotonic() < deadline:
        alerts = api_data(prometheus, "alerts")["alerts"]
        firing = {
            alert["labels"]["messaging_consumer_group_name"]
            for alert in alerts
            if alert["labels"]["alertname"] == "OStockDeadLetters" and alert["state"] == "firing"
        }
        time.sleep(SCRAPE_S)

    assert len(firing) >= 2, f"a handler's and a projector's dead letters: {firing}"


def test_every_dashboard_query_returns_series(
    prometheus: PrometheusServer, exercised: None
) -> None:
    queries = dashboard_queries()
    deadline = time.monotonic() + WAIT_S
    while True:
        empty = [title for title, expr in queries.items() if not query(prometheus, expr)]
        if not empty or time.monotonic() > deadline:
            break
        time.sleep(SCRAPE_S)

    assert empty == [], f"queries without series after {WAIT_S:.0f}s: {empty}"


def test_infra_up_with_monitoring_starts_prometheus_on_every_process(tmp_path: Path) -> None:
    # Its own infrastructure, from the command line, as a developer starts it.
    port = free_port()
    ports = [
        f"--kafka-port={free_port()}",
        f"--controller-port={free_port()}",
        f"--redis-port={free_port()}",
    ]
    settings = Settings(
        data_dir=tmp_path,
        prometheus_port=port,
        metrics_port_base=free_port_block(len(PROCESSES)),
        api_port=free_port(),
    )
    env = settings_env(
        settings,
        OSTOCK_PROMETHEUS_PORT=str(port),
        OSTOCK_METRICS_PORT_BASE=str(settings.metrics_port_base),
    )
    cli = [sys.executable, "-m", "ostock", "infra"]
    folder = f"--data-dir={tmp_path}"
    try:
        subprocess.run(
            [*cli, "up", folder, *ports, "--with", "monitoring"], env=env, check=True, timeout=180
        )
        status = subprocess.run(
            [*cli, "status", folder, *ports], env=env, capture_output=True, text=True, timeout=60
        )
        server = PrometheusServer(tmp_path, port, scrape_targets(settings))
        # Its scrape manager takes up the configured targets a few seconds after start.
        deadline = time.monotonic() + WAIT_S
        targets = api_data(server, "targets")["activeTargets"]
        while len(targets) < len(PROCESSES) and time.monotonic() < deadline:
            time.sleep(SCRAPE_S)
            targets = api_data(server, "targets")["activeTargets"]
    finally:
        subprocess.run([*cli, "down", folder, *ports], env=env, check=True, timeout=120)

    assert status.returncode == 0, status.stdout + status.stderr
    assert "prometheus running (pid" in status.stdout
    scraped = {target["labels"]["process"]: target["scrapeUrl"] for target in targets}
    assert scraped["api"] == f"http://127.0.0.1:{settings.api_port}/metrics"
    handler_port = metrics_port(settings, "licensing-handler")
    assert scraped["licensing-handler"] == f"http://127.0.0.1:{handler_port}/metrics"
    assert set(scraped) == set(PROCESSES)
    assert server.pid() is None
