"""Traces of the whole system, read back from a real Jaeger: every process of its own on
a Kafka and Redis of their own (the session's handlers own the handler groups there),
tracing every trace (OSTOCK_TRACE_SAMPLING_RATIO=1)."""

import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx
import pytest

from ostock.deployables import PROCESSES
from ostock.infra.jaeger import JaegerServer
from ostock.infra.local import LocalInfra
from ostock.infra.ports import free_port
from ostock.infra.topics import ensure_topics
from ostock.settings import Settings
from tests.auth import bearer
from tests.integration.conftest import wait_for_status
from tests.isolated import local_infra
from tests.jaeger import Span, eventually, search, trace_spans
from tests.processes import Worker

pytestmark = pytest.mark.integration

ACME = {"name": "Acme", "contact_name": "Ada", "contact_email": "ada@acme.example"}
OFFICE = {"product_name": "Office", "license_type": "user", "description": "ten seats"}
READY_S = 90.0


@dataclass(frozen=True)
class Traced:
    """The running system, its API client and the Jaeger it traces to."""

    settings: Settings
    api: httpx.Client
    jaeger: JaegerServer


def new_jaeger(folder: Path) -> JaegerServer:
    return JaegerServer(folder, Settings().cache_dir, free_port(), free_port())


@pytest.fixture(scope="module")
def jaeger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JaegerServer]:
    """A Jaeger on free ports (built into the cache folder first if it is not there)."""
    server = new_jaeger(tmp_path_factory.mktemp("jaeger"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def traced(jaeger: JaegerServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Traced]:
    """Every deployable as a process, as `ostock run` starts them, each tracing."""
    with local_infra(tmp_path_factory.mktemp("traced-infra")) as local:
        settings = Settings(
            kafka_bootstrap=local.kafka.bootstrap,
            redis_url=local.redis.url,
            topic_partitions=3,
            redis_prefix="traced",
            data_dir=tmp_path_factory.mktemp("traced-data"),
            config_dir=tmp_path_factory.mktemp("traced-config"),
            api_port=free_port(),
            tracing_endpoint=jaeger.otlp_endpoint,
            trace_sampling_ratio=1.0,
        )
        ensure_topics(settings)
        logs = tmp_path_factory.mktemp("traced-logs")
        workers = [
            Worker(args, settings, logs / f"{name}.log").start() for name, args in PROCESSES.items()
        ]
        base = f"http://127.0.0.1:{settings.api_port}"
        try:
            with httpx.Client(base_url=base, timeout=10, headers=bearer(settings)) as api:
                wait_ready(api, workers)
                yield Traced(settings, api, jaeger)
        finally:
            for worker in workers:
                worker.stop()


def wait_ready(api: httpx.Client, workers: list[Worker]) -> None:
    def ready() -> bool:
        for worker in workers:
            assert worker.alive(), f"{worker.args} exited: {worker.output()[-2000:]}"
        try:
            return api.get("/health/ready").status_code == 200
        except httpx.HTTPError:
            return False

    eventually_true(ready, READY_S)


def eventually_true(check: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout_s}s"
        time.sleep(0.2)


def caller() -> tuple[str, str, dict[str, str]]:
    """A trace of the test's own: its id, the caller's span id, and the header to send."""
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return trace_id, span_id, {"traceparent": f"00-{trace_id}-{span_id}-01"}


def services(spans: list[Span]) -> set[str]:
    return {span.service for span in spans}


def one(spans: list[Span], service: str, name: str) -> Span:
    [found] = [s for s in spans if s.service == service and s.name == name]
    return found


def records(spans: list[Span], service: str, name: str) -> list[Span]:
    """The spans of one record each (a batch's span counts its records)."""
    return [
        s
        for s in spans
        if s.service == service and s.name == name and "messaging.batch.message_count" not in s.tags
    ]


def holding(expected: dict[tuple[str, str], int]) -> Callable[[list[Span]], bool]:
    """Whether spans hold, of each (service, name), at least that many records' spans:
    each process exports its spans on its own schedule."""
    return lambda spans: all(len(records(spans, *key)) >= n for key, n in expected.items())


def accepted(api: httpx.Client, response: httpx.Response) -> None:
    assert response.status_code == 202, response.text
    assert wait_for_status(api, response.json()["command_id"])["status"] == "accepted"


def test_jaeger_opens_only_the_ports_it_is_given_so_two_run_side_by_side(
    jaeger: JaegerServer, tmp_path: Path
) -> None:
    second = new_jaeger(tmp_path)
    second.start()
    try:
        for server in (jaeger, second):
            pid = server.pid()
            assert pid is not None
            ports = listening_ports(pid)
            assert {server.port, server.otlp_port} < ports and len(ports) == 3, ports
        # `ostock infra status` lists it while it runs, `down` stops it.
        local = LocalInfra(
            tmp_path,
            Settings().cache_dir,
            free_port(),
            free_port(),
            free_port(),
            jaeger_ports=(second.otlp_port, second.port),
        )
        [listed] = [s for s in local.status().services if s.name == "jaeger"]
        assert listed.pid == second.pid() and listed.address == second.address
        local.down()
        assert second.pid() is None
    finally:
        second.stop()


def listening_ports(pid: int) -> set[int]:
    """The TCP ports process `pid` listens on, from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = str(fd.readlink()) if fd.is_symlink() else ""
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def test_a_commands_trace_goes_from_the_api_through_the_handler_to_the_projector(
    traced: Traced,
) -> None:
    trace_id, caller_span, header = caller()
    response = traced.api.post("/v1/organizations", json=ACME, headers=header)
    accepted(traced.api, response)
    organization_id = response.json()["organization_id"]

    spans = eventually(
        partial(trace_spans, traced.jaeger.url, trace_id),
        holding(
            {
                ("api", "POST /v1/organizations"): 1,
                ("api", "send ostock.organization.commands"): 1,
                ("organization-handler", "process ostock.organization.commands"): 1,
                ("organization-projector", "process ostock.organization.events"): 1,
            }
        ),
    )

    request = one(spans, "api", "POST /v1/organizations")
    assert request.parent == caller_span
    assert request.tags["http.response.status_code"] == 202
    send = one(spans, "api", "send ostock.organization.commands")
    assert send.parent == request.span_id
    [decided] = records(spans, "organization-handler", "process ostock.organization.commands")
    assert decided.parent == send.span_id
    assert decided.tags["messaging.consumer.group.name"] == "ostock.organization-service"
    assert decided.tags["messaging.kafka.message.key"] == organization_id
    [projected] = records(spans, "organization-projector", "process ostock.organization.events")
    assert projected.parent == decided.span_id
    assert projected.tags["messaging.system"] == "kafka"

    # The projector's batch has its own trace, linked to the record's, and its Redis
    # round trip is a child of the batch.
    found = eventually(
        lambda: (
            search(traced.jaeger.url, "organization-projector", "BATCH FCALL")
            + search(traced.jaeger.url, "organization-projector", "FCALL")
        ),
        lambda found: any(
            ("FOLLOWS_FROM", trace_id, decided.span_id) in s.references for s in found
        ),
    )
    [batch] = [s for s in found if ("FOLLOWS_FROM", trace_id, decided.span_id) in s.references]
    writes = [s for s in found if s.parent == batch.span_id and s.tags.get("db.system.name")]
    assert writes and batch.tags["messaging.batch.message_count"] >= 1


def test_a_read_is_a_span_of_the_callers_trace_with_its_redis_calls(traced: Traced) -> None:
    response = traced.api.post("/v1/organizations", json=ACME)
    accepted(traced.api, response)
    path = f"/v1/organizations/{response.json()['organization_id']}"

    # The first read goes through FastAPI, the next ones the fast path (api.fast_reads).
    for _ in range(2):
        trace_id, caller_span, header = caller()
        assert traced.api.get(path, headers=header).status_code == 200
        spans = eventually(
            partial(trace_spans, traced.jaeger.url, trace_id),
            lambda spans: (
                any(s.tags.get("db.system.name") == "redis" for s in spans)
                and holding({("api", "GET /v1/organizations/{organization_id}"): 1})(spans)
            ),
        )
        read = one(spans, "api", "GET /v1/organizations/{organization_id}")
        assert read.parent == caller_span
        assert read.tags["http.route"] == "/v1/organizations/{organization_id}"
        assert all(s.parent == read.span_id for s in spans if s is not read)


def test_an_organization_deletes_trace_reaches_the_saga_and_every_license_view(
    traced: Traced,
) -> None:
    api, url = traced.api, traced.jaeger.url
    response = api.post("/v1/organizations", json=ACME)
    accepted(api, response)
    organization_id = response.json()["organization_id"]
    licenses = []
    for _ in range(2):
        trace_id, _, header = caller()
        grant = api.post(
            f"/v1/organizations/{organization_id}/licenses", json=OFFICE, headers=header
        )
        accepted(api, grant)
        licenses.append(grant.json()["license_id"])
        # The saga has seen the license (it remembers it) before the deletion comes.
        eventually(
            partial(trace_spans, url, trace_id),
            lambda spans: "cascade-delete-saga" in services(spans),
        )

    trace_id, _, header = caller()
    accepted(api, api.delete(f"/v1/organizations/{organization_id}", headers=header))
    expected = {
        ("organization-handler", "process ostock.organization.commands"): 1,
        ("cascade-delete-saga", "process ostock.organization.events"): 1,
        ("cascade-delete-saga", "send ostock.license.commands"): len(licenses),
        ("licensing-handler", "process ostock.license.commands"): len(licenses),
        ("license-projector", "process ostock.license.events"): len(licenses),
    }
    spans = eventually(partial(trace_spans, url, trace_id), holding(expected))

    [deletion] = records(spans, "organization-handler", "process ostock.organization.commands")
    [deleted] = records(spans, "cascade-delete-saga", "process ostock.organization.events")
    assert deleted.parent == deletion.span_id
    sends = [s for s in spans if s.name == "send ostock.license.commands"]
    assert {s.service for s in sends} == {"cascade-delete-saga"} and len(sends) == len(licenses)
    assert {s.parent for s in sends} == {deleted.span_id}
    decided = records(spans, "licensing-handler", "process ostock.license.commands")
    assert {s.parent for s in decided} == {s.span_id for s in sends}
    projected = records(spans, "license-projector", "process ostock.license.events")
    assert {s.parent for s in projected} == {s.span_id for s in decided}
    for license_id in licenses:
        read = api.get(f"/v1/organizations/{organization_id}/licenses/{license_id}")
        assert read.status_code == 404, read.text
