"""Consumer lag as operators see it, on real Kafka, Redis and processes: the lag exporter's
/metrics and ostock.kafka.lag while a projector is stopped and after it caught up, and
`ostock status` reporting it."""

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from uuid import uuid4

import httpx
import pytest
from confluent_kafka import Producer
from prometheus_client.parser import text_string_to_metric_families

from ostock.contract import Codec
from ostock.deployables import PROCESSES, metrics_port, stream_group
from ostock.infra.ports import free_port
from ostock.kafka.config import transactional_config
from ostock.kafka.lag import LagReader, PartitionLag
from ostock.settings import Settings, settings_env
from tests.isolated import isolated
from tests.processes import Worker
from tests.records import ACME, organization_event

pytestmark = pytest.mark.integration

PROJECTOR = "organization-projector"
EXPORTER = "lag-exporter"
#: The exporter's rounds in these tests: often, so the waits stay short.
INTERVAL = {"OSTOCK_LAG_INTERVAL_S": "0.5"}
WAIT_S = 60.0

T = TypeVar("T")
#: A partition's lag as the exporter serves it: records and seconds.
Lags = dict[tuple[str, int], tuple[float, float]]


@pytest.fixture
def own(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """Topics, a Redis and a key base of this test's own."""
    with isolated(settings, tmp_path, "lag") as (own, _):
        yield own


def produce(settings: Settings, organizations: int) -> None:
    """Creations of new organizations, in transactions of 5 as a handler writes them: each
    leaves a marker after its records."""
    codec = Codec()
    producer = Producer(transactional_config(settings, f"test-lag-{uuid4().hex[:8]}"))
    producer.init_transactions(10)
    for start in range(0, organizations, 5):
        producer.begin_transaction()
        for _ in range(min(5, organizations - start)):
            event = organization_event("OrganizationCreated", str(uuid4()), 1, **ACME)
            key = event.meta.organization_id.encode()
            producer.produce(settings.topics.organization_events, key=key, value=codec.write(event))
        producer.commit_transaction(10)


def exported(settings: Settings, group: str) -> Lags:
    """The group's lag on the exporter's /metrics, by partition of the events topic."""
    try:
        text = httpx.get(f"http://127.0.0.1:{metrics_port(settings, EXPORTER)}/metrics").text
    except httpx.HTTPError:  # not serving yet
        return {}
    found: dict[tuple[str, int], dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if labels.get("messaging_consumer_group_name") == group:
                where = (labels["messaging_destination_name"], int(labels["partition"]))
                found.setdefault(where, {})[sample.name] = sample.value
    return {
        where: (values["ostock_consumer_lag_records"], values["ostock_consumer_lag_seconds"])
        for where, values in found.items()
        if len(values) == 2
    }


def lags(settings: Settings, group: str) -> list[PartitionLag]:
    reader = LagReader(settings)
    try:
        topics = [name for _, name in settings.topics]
        return list(reader.groups([group], topics)[0].lags)
    finally:
        reader.close()


def wait(what: str, found: Callable[[], T | None]) -> T:
    """Poll `found` until it returns something other than None."""
    deadline = time.monotonic() + WAIT_S
    while (result := found()) is None:
        assert time.monotonic() < deadline, f"no {what} in {WAIT_S}s"
        time.sleep(0.2)
    return result


def caught_up(settings: Settings, group: str, events: int) -> list[PartitionLag] | None:
    """The group's lags once it has read `events` events, on every partition, to the end."""
    found = lags(settings, group)
    ends = sum(lag.end for lag in found)
    done = len(found) == settings.topic_partitions and ends >= events
    return found if done and all(lag.records == 0 for lag in found) else None


def test_a_stopped_projectors_lag_rises_then_returns_to_zero(own: Settings, tmp_path: Path) -> None:
    group = stream_group(own, PROJECTOR)
    projector = Worker(PROCESSES[PROJECTOR], own, tmp_path / "projector.log").start()
    exporter = Worker(PROCESSES[EXPORTER], own, tmp_path / "exporter.log", env=INTERVAL).start()
    try:
        produce(own, 20)
        settled = wait("catch-up", lambda: caught_up(own, group, 20))
        # A transaction's marker sits after its records: offsets say 1 behind, yet
        # nothing is pending, and the lag says so in records and seconds.
        assert any(lag.end > (lag.committed or 0) for lag in settled)
        assert all(lag.seconds == 0.0 for lag in settled)

        projector.stop()  # SIGTERM: it leaves the group, and its restart rejoins at once
        produce(own, 15)
        first = wait("a lag", lambda: _behind(exported(own, group), 15))
        produce(own, 15)
        second = wait("a higher lag", lambda: _behind(exported(own, group), 30))
        assert _total(second) > _total(first)
        assert max(s for _, s in second.values()) > max(s for _, s in first.values()) > 0
        read = lags(own, group)
        assert sum(lag.records for lag in read) >= 30
        assert all(lag.seconds is not None and lag.seconds > 0 for lag in read if lag.records)

        projector.start()
        wait("catch-up again", lambda: caught_up(own, group, 50))
        back = wait("zero on /metrics", lambda: _zero(exported(own, group)))
        assert len(back) == own.topic_partitions
    finally:
        projector.stop()
        exporter.stop()


def test_status_reports_a_killed_projector_down_with_its_lag(own: Settings, tmp_path: Path) -> None:
    group = stream_group(own, PROJECTOR)
    projector = Worker(PROCESSES[PROJECTOR], own, tmp_path / "projector.log").start()
    exporter = Worker(PROCESSES[EXPORTER], own, tmp_path / "exporter.log", env=INTERVAL).start()
    try:
        produce(own, 10)
        wait("catch-up", lambda: caught_up(own, group, 10))
        running, _ = status(own, "--json")
        assert _process(running, PROJECTOR)["members"], running
        assert _process(running, EXPORTER)["up"] is True

        projector.kill()
        produce(own, 10)
        wait("a lag", lambda: [lag for lag in lags(own, group) if lag.records] or None)
        report, code = status(own, "--json", "--max-lag-records", "0")
        assert code == 1
        assert _process(report, PROJECTOR)["up"] is False
        assert sum(lag["records"] for lag in report["lags"] if lag["group"] == group) >= 10
        assert any(line.startswith(f"{group} lags on ") for line in report["problems"])
        assert f"{PROJECTOR} is down" in report["problems"]

        shown = _run(own, "status")
        assert shown.returncode == 1
        row = next(line for line in shown.stdout.splitlines() if f" {PROJECTOR} " in line)
        assert "down" in row
        assert group in shown.stdout and "behind" in shown.stdout
    finally:
        projector.stop()
        exporter.stop()


def test_status_names_what_is_unreachable_at_once(settings: Settings) -> None:
    nowhere = settings.model_copy(
        update={
            "kafka_bootstrap": f"127.0.0.1:{free_port()}",
            "redis_url": f"redis://127.0.0.1:{free_port()}/0",
        }
    )
    started = time.monotonic()

    shown = _run(nowhere, "status")

    assert time.monotonic() - started < 15
    assert shown.returncode == 2
    assert f"Kafka at {nowhere.kafka_bootstrap}" in shown.stderr
    assert f"Redis at {nowhere.redis_url}" in shown.stderr
    assert "Traceback" not in shown.stdout + shown.stderr


def status(settings: Settings, *args: str) -> tuple[dict[str, Any], int]:
    ran = _run(settings, "status", *args)
    parsed: dict[str, Any] = json.loads(ran.stdout)
    return parsed, ran.returncode


def _run(settings: Settings, *args: str) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, "-m", "ostock", *args],
        env=settings_env(settings, COLUMNS="200"),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _process(report: dict[str, Any], name: str) -> dict[str, Any]:
    processes = report["processes"]
    assert isinstance(processes, list)
    return next(p for p in processes if p["name"] == name)


def _total(found: Lags) -> float:
    return sum(records for records, _ in found.values())


def _behind(found: Lags, records: int) -> Lags | None:
    return found if _total(found) >= records else None


def _zero(found: Lags) -> Lags | None:
    nothing = found and all(lag == (0.0, 0.0) for lag in found.values())
    return found if nothing else None
