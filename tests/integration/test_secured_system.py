"""Every process under the production profile, as `ostock run` starts it: each logged in
as its own principal and Redis user (ostock.deployables.PRINCIPALS) on a secured Kafka
and Redis. A real flow through the API gets every process's work done, and none of them
meets a refusal. What each principal may not do is test_least_privilege.py's."""

import re
import time
from collections.abc import Iterator

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from ostock.credentials import redis_login
from ostock.deployables import PROCESSES, metrics_port
from ostock.infra.local import LocalInfra
from ostock.infra.ports import free_port, free_port_block
from ostock.settings import Settings
from ostock.telemetry.lag_exporter import NAME as LAG_EXPORTER
from ostock.telemetry.lag_exporter import system_groups
from tests.auth import bearer
from tests.integration.conftest import wait_for_status
from tests.integration.test_licenses_e2e import (
    ACME,
    OFFICE,
    accepted,
    eventually_enriched,
    licenses_path,
    new_organization,
)
from tests.processes import Worker, running_system
from tests.secured import secured_infra

pytestmark = pytest.mark.integration

#: What a refusal by Kafka's ACLs (librdkafka's and aiokafka's words) or Redis's looks like.
REFUSED = re.compile(r"authoriz|noperm|no permission|wrongpass|authentication failed", re.I)
WAIT_S = 30.0


@pytest.fixture(scope="module")
def secured_system(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Settings, dict[str, Worker]]]:
    """Every process of PROCESSES, two copies of each that shares a group, on a secured
    Kafka and Redis of this module's own."""
    folder = tmp_path_factory.mktemp("secured-system")
    with secured_infra(folder / "infra") as admin:
        settings = admin.model_copy(
            update={
                "api_port": free_port(),
                "scale": 2,  # the copies' transactional ids and members are allowed too
                "metrics_port_base": free_port_block(2 * len(PROCESSES)),
                "config_dir": folder / "config",  # the development issuer's keys
            }
        )
        (folder / "logs").mkdir()
        with running_system(settings, folder / "logs", settings.scale) as workers:
            yield settings, workers


def lag_exported(settings: Settings) -> set[str]:
    """The groups the lag exporter has a lag of on its /metrics."""
    url = f"http://127.0.0.1:{metrics_port(settings, LAG_EXPORTER)}/metrics"
    families = text_string_to_metric_families(httpx.get(url, timeout=5).text)
    return {
        sample.labels["messaging_consumer_group_name"]
        for family in families
        if family.name == "ostock_consumer_lag_records"
        for sample in family.samples
    }


def test_every_process_does_its_job_as_its_own_principal(
    secured_system: tuple[Settings, dict[str, Worker]],
) -> None:
    settings, workers = secured_system
    base = f"http://127.0.0.1:{settings.api_port}"
    with httpx.Client(base_url=base, timeout=10, headers=bearer(settings, "admin")) as api:
        # The organization service and projector, the command statuses.
        organization_id = new_organization(api)
        organization_path = f"/v1/organizations/{organization_id}"
        # The licensing service; the license projector, enriched by the organization copy.
        grant = api.post(licenses_path(organization_id), json=OFFICE)
        accepted(api, grant)
        license_path = f"{licenses_path(organization_id)}/{grant.json()['license_id']}"
        eventually_enriched(api, license_path)
        update = api.put(organization_path, json=ACME | {"name": "Acme Ltd"})
        accepted(api, update)
        eventually_enriched(api, license_path, "Acme Ltd")
        # The saga deletes the license of the deleted organization.
        deletion = api.delete(organization_path)
        accepted(api, deletion)
        history = api.get(f"{license_path}/events", params={"min_version": 2})
        assert [e["type"] for e in history.json()["events"]] == ["LicenseCreated", "LicenseDeleted"]
        assert api.get(license_path).status_code == 404
        assert api.get(organization_path).status_code == 404
        refused = api.post(licenses_path(organization_id), json=OFFICE)
        status = wait_for_status(api, refused.json()["command_id"])
        assert (status["status"], status["error_code"]) == ("rejected", "organization-deleted")

    # The lag exporter reads every group's lag.
    deadline = time.monotonic() + WAIT_S
    while (exported := lag_exported(settings)) != set(system_groups(settings)):
        assert time.monotonic() < deadline, f"lag of {exported} only"
        time.sleep(0.5)

    for name, worker in workers.items():
        assert worker.alive(), f"{name} exited: {worker.output()[-3000:]}"
        refusals = [line for line in worker.output().splitlines() if REFUSED.search(line)]
        assert not refusals, f"{name} was refused: {refusals[:3]}"
    # The broker's authorizer logs every refusal, also those a client retries unlogged.
    nodes = LocalInfra.from_settings(settings).kafka.nodes
    broker_log = [line for node in nodes for line in node.log.read_text().splitlines()]
    denied = [line for line in broker_log if " is Denied operation " in line]
    assert not denied, f"{len(denied)} refusals, e.g. {denied[:3]}"
    # And Redis keeps every refusal in its ACL log.
    user, password = redis_login(settings)
    with redis.Redis.from_url(settings.redis_url, username=user, password=password) as admin:
        assert admin.acl_log() == []
