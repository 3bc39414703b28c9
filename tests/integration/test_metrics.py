"""Every process's /metrics, scraped over HTTP: an organization handler, the organization
and command-status projectors and the API run as real processes, on topics and a key
prefix of their own; commands go in through the API (accepted and rejected), poison
straight onto the topics, and each count must be what was sent."""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from ostock.deployables import PROCESSES, handler_group
from ostock.handlers.organization import OrganizationService
from ostock.infra.ports import free_port
from ostock.settings import Settings
from tests.auth import bearer
from tests.integration.conftest import wait_for_status
from tests.processes import Worker
from tests.projectors import fresh, produce

pytestmark = pytest.mark.integration

WAIT_S = 30.0
ACME = {"name": "Acme", "contact_name": "Ada", "contact_email": "", "contact_phone": ""}
PROJECTORS = ("organization-projector", "command-status-projector")
#: One expected sample: its name, some of its labels, and its value (None: any above 0).
Expected = tuple[str, dict[str, str], float | None]


def scrape(port: int) -> list[Sample]:
    """The samples of the /metrics on `port`."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def value(samples: list[Sample], name: str, labels: dict[str, str]) -> float:
    """The sum of the samples named `name` that have `labels` (0 if none)."""
    return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())


def rtts(samples: list[Sample], kind: str) -> list[float]:
    """The average round trips that librdkafka clients of `kind` (named
    `<client.id>#<kind>-<n>`) reported."""
    return [
        s.value
        for s in samples
        if s.name == "ostock_kafka_broker_rtt_seconds"
        and f"#{kind}-" in s.labels["client"]
        and s.labels["quantile"] == "avg"
    ]


def settled(
    port: int, expected: list[Expected], also: Callable[[list[Sample]], bool] = bool
) -> list[Sample]:
    """The samples once every expected one has its value and `also` holds; AssertionError
    with the values found if they do not within WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while True:
        samples = scrape(port)
        found = [(name, labels, value(samples, name, labels)) for name, labels, _ in expected]
        wrong = [
            got <= 0 if want is None else got != want
            for (_, _, want), (_, _, got) in zip(expected, found, strict=True)
        ]
        if not any(wrong) and also(samples):
            return samples
        assert time.monotonic() < deadline, f":{port}: expected {expected}, found {found}"
        time.sleep(0.2)


@pytest.fixture
def system(settings: Settings, tmp_path: Path) -> Iterator[tuple[Settings, dict[str, int]]]:
    """The handler, projectors and API of the test's own; each one's /metrics port."""
    own = fresh(settings, tmp_path / "data", kafka_statistics_s=0.5, api_port=free_port())
    ports = {name: free_port() for name in ("organization-handler", *PROJECTORS)}
    ports["api"] = own.api_port
    # An instance name of its own: the handlers' consumer group is the service's.
    handler = [*PROCESSES["organization-handler"], "--instance", f"metrics-{uuid4().hex[:8]}"]
    args = {"organization-handler": handler, "api": PROCESSES["api"]}
    workers = [
        Worker(
            args.get(name, PROCESSES[name]),
            own.model_copy(update={"metrics_port": port}),
            tmp_path / f"{name}.log",
        ).start()
        for name, port in ports.items()
    ]
    try:
        yield own, ports
    finally:
        for worker in workers:
            worker.stop()


@contextmanager
def api_client(settings: Settings) -> Iterator[httpx.Client]:
    """An admin's client of the API, once it is ready."""
    base = f"http://127.0.0.1:{settings.api_port}"
    with httpx.Client(base_url=base, timeout=10, headers=bearer(settings, "admin")) as client:
        deadline = time.monotonic() + 60
        while not _ready(client):
            assert time.monotonic() < deadline, "the API is not ready in 60s"
            time.sleep(0.2)
        yield client


def _ready(client: httpx.Client) -> bool:
    try:
        return client.get("/health/ready").status_code == 200
    except httpx.HTTPError:
        return False


def decided(api: httpx.Client, response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    return wait_for_status(api, response.json()["command_id"], WAIT_S)


def test_every_process_counts_what_it_consumed_sent_decided_and_applied(
    system: tuple[Settings, dict[str, int]],
) -> None:
    settings, ports = system
    topics = settings.topics
    with api_client(settings) as api:
        created = decided(api, api.post("/v1/organizations", json=ACME))
        organization = f"/v1/organizations/{created['aggregate_id']}"
        updated = decided(api, api.put(organization, json=ACME | {"expected_version": 1}))
        stale = decided(api, api.put(organization, json=ACME | {"expected_version": 1}))
        assert [created["status"], updated["status"], stale["status"]] == [
            "accepted",
            "accepted",
            "rejected",
        ]
        produce(settings, topics.organization_commands, [(b"poison", b"not a command")])
        produce(settings, topics.organization_events, [(b"poison", b"not an event")])
        deadline = time.monotonic() + WAIT_S
        while api.get(organization).json().get("version") != 2:
            assert time.monotonic() < deadline, "the view did not reach version 2"
            time.sleep(0.1)

    decisions_group = handler_group(OrganizationService.name)
    handler = settled(
        ports["organization-handler"],
        [
            consumed(decisions_group, topics.organization_commands, 4),
            sent(topics.organization_events, 2),
            sent(topics.command_results, 3),
            sent(topics.dead_letters, 1),
            decisions("accepted", "", 2),
            decisions("rejected", "version-conflict", 1),
            dead_letters(decisions_group, "bad-framing", 1),
            ("ostock_handler_transactions_total", {"outcome": "committed"}, None),
        ],
        also=lambda samples: bool(rtts(samples, "consumer") and rtts(samples, "producer")),
    )
    committed = value(handler, "ostock_handler_transactions_total", {"outcome": "committed"})
    assert value(handler, "messaging_process_duration_seconds_count", _group(decisions_group)) == (
        committed
    )
    assert all(0 < rtt < 1 for rtt in rtts(handler, "consumer") + rtts(handler, "producer"))
    queues = [s.value for s in handler if s.name == "ostock_kafka_queue_messages"]
    assert queues == [0]  # the transactional producer's, flushed by every commit

    views = f"{settings.redis_prefix}.organization-projector"
    settled(
        ports["organization-projector"],
        [
            consumed(views, topics.organization_events, 3),
            freshness("organizations", 2),
            dead_letters(views, "bad-framing", 1),
            sent(topics.dead_letters, 1),
            redis("ostock_project"),
            ("messaging_process_duration_seconds_count", _group(views), None),
        ],
    )

    statuses = f"{settings.redis_prefix}.command-status-projector"
    settled(
        ports["command-status-projector"],
        [
            consumed(statuses, topics.organization_commands, 4),
            consumed(statuses, topics.command_results, 3),
            freshness("pending-commands", 3),
            freshness("command-results", 3),
            dead_letters(statuses, "bad-framing", 1),
            redis("ostock_command_pending"),
            redis("ostock_command_decided"),
        ],
    )

    api_samples = settled(
        ports["api"],
        [sent(topics.organization_commands, 3), redis("HGET")],
        also=lambda samples: bool(rtts(samples, "producer")),
    )
    clients = [s.labels["client"] for s in api_samples if s.name == "ostock_kafka_queue_messages"]
    assert len(clients) == 1 and clients[0].startswith("ostock-api#producer-")


def _group(group: str) -> dict[str, str]:
    return {"messaging_consumer_group_name": group}


def consumed(group: str, topic: str, count: float) -> Expected:
    labels = _group(group) | {"messaging_destination_name": topic}
    return "messaging_client_consumed_messages_total", labels, count


def sent(topic: str, count: float) -> Expected:
    return "messaging_client_sent_messages_total", {"messaging_destination_name": topic}, count


def decisions(outcome: str, code: str, count: float) -> Expected:
    return "ostock_commands_decided_total", {"outcome": outcome, "code": code}, count


def dead_letters(group: str, reason: str, count: float) -> Expected:
    return "ostock_dead_letters_total", _group(group) | {"reason": reason}, count


def freshness(view: str, count: float) -> Expected:
    return "ostock_view_freshness_seconds_count", {"view": view}, count


def redis(operation: str) -> Expected:
    labels = {"db_system_name": "redis", "db_operation_name": operation}
    return "db_client_operation_duration_seconds_count", labels, None
