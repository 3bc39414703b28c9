"""Projectors killed mid-stream (SIGKILL, no clean-up) and started again, on topics and
a Redis of their own: once they have caught up, every view equals a replay of the log
from offset 0, byte for byte (`ostock replay --verify`)."""

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from confluent_kafka import Producer

from ostock.contract import Codec
from ostock.contract.records import Event, name_of
from ostock.deployables import PROCESSES
from ostock.kafka.config import producer_config
from ostock.settings import Settings, settings_env
from tests.isolated import isolated
from tests.processes import Worker
from tests.records import ACME, SEATS, license_event, organization_event
from tests.workload import Versions, wait_for_views

pytestmark = pytest.mark.integration

VIEW_PROJECTORS = ("organization-projector", "license-projector", "licensing-organizations")
KILLED = ("organization-projector", "license-projector")


@pytest.fixture
def own(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """Topics, a Redis and a key base of this test's own."""
    with isolated(settings, tmp_path, "fault") as (own, _):
        yield own


def history(organizations: int) -> tuple[list[Event], Versions]:
    """Organizations created and renamed, two licenses each created and changed, one of
    them deleted, one organization in ten deleted: the records in log order, and the
    version each view ends at."""
    records: list[Event] = []
    versions = Versions()
    for n in range(organizations):
        org = str(uuid4())
        records += (
            organization_event("OrganizationCreated", org, 1, **ACME),
            organization_event("OrganizationUpdated", org, 2, **ACME | {"name": f"Org {n}"}),
        )
        versions.organizations[org] = 2
        for i in range(2):
            lic = str(uuid4())
            records += (
                license_event("LicenseCreated", org, lic, 1, **SEATS),
                license_event("LicenseUpdated", org, lic, 2, **SEATS | {"comment": f"{n}.{i}"}),
            )
            versions.licenses[(org, lic)] = 2
            if i == 0:
                records.append(license_event("LicenseDeleted", org, lic, 3))
                versions.licenses[(org, lic)] = 3
        if n % 10 == 9:
            records.append(organization_event("OrganizationDeleted", org, 3))
            versions.organizations[org] = 3
    return records, versions


def produce(settings: Settings, records: list[Event]) -> None:
    codec = Codec()
    producer = Producer(producer_config(settings))
    for record in records:
        topic = (
            settings.topics.organization_events
            if name_of(record).startswith("ostock.organization.")
            else settings.topics.license_events
        )
        key = record.meta.organization_id.encode()
        producer.produce(topic, key=key, value=codec.write(record))
    assert producer.flush(30) == 0


def test_views_after_killed_projectors_equal_a_replay(own: Settings, tmp_path: Path) -> None:
    records, versions = history(organizations=300)
    quarter = len(records) // 4
    workers = {
        name: Worker(PROCESSES[name], own, tmp_path / f"{name}.log").start()
        for name in VIEW_PROJECTORS
    }
    try:
        produce(own, records[:quarter])
        produce(own, records[quarter : 2 * quarter])
        for name in KILLED:  # mid-stream: batches half applied, offsets not committed
            workers[name].kill()
        produce(own, records[2 * quarter : 3 * quarter])
        for name in KILLED:
            workers[name].start()
        produce(own, records[3 * quarter :])
        asyncio.run(wait_for_views(own, versions))
        verified = subprocess.run(
            [sys.executable, "-m", "ostock", "replay", "--verify"],
            env=settings_env(own),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "equal the live ones, byte for byte" in verified.stderr
    finally:
        for worker in workers.values():
            worker.stop()
