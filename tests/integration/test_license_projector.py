"""The licensing service's projectors as processes (`python -m streams ...`) on the real
Kafka and Redis: license and organization events produced with confluent-kafka, read back
as the API reads them (ViewReader), enriched with the service's own organization copy."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any
from uuid import uuid4

import orjson
import pytest
import pytest_asyncio

from ostock.contract import Codec
from ostock.contract.records import Event
from ostock.settings import Settings
from ostock.views.client import redis_client
from ostock.views.generations import LiveKeys
from ostock.views.reader import ViewReader
from tests.projectors import WAIT_S, KafkaRecord, Projector, fresh, produce
from tests.records import ACME, AT, SEATS, license_event, organization_event

pytestmark = [pytest.mark.integration, pytest.mark.both_redis]

CODEC = Codec()
PROJECTORS = ("license-projector", "licensing-organizations", "organization-projector")


@pytest.fixture(scope="module")
def own_settings(redis_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return fresh(redis_settings, tmp_path_factory.mktemp("license-projectors"))


@pytest.fixture(scope="module")
def projectors(
    own_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Projector]]:
    logs = tmp_path_factory.mktemp("license-projector-logs")
    running = {
        name: Projector(name, own_settings, logs / f"{name}.log").start() for name in PROJECTORS
    }
    yield running
    for projector in running.values():
        projector.stop()


@pytest_asyncio.fixture(loop_scope="function")
async def reader(own_settings: Settings) -> AsyncIterator[ViewReader]:
    redis = redis_client(own_settings)
    live = LiveKeys(redis, own_settings.redis_prefix, own_settings.generations_refresh_s)
    reader = ViewReader(redis, live)
    yield reader
    await reader.close()
    await redis.aclose()


def encoded(*records: Event) -> list[KafkaRecord]:
    """Records as the services produce them: encoded, keyed by their organization."""
    return [(r.meta.organization_id.encode(), CODEC.write(r)) for r in records]


async def eventually(
    projectors: dict[str, Projector], what: str, found: Callable[[], Awaitable[Any]]
) -> Any:
    """Poll `found` until it returns something true, while the projectors run."""
    deadline = time.monotonic() + WAIT_S
    while not (result := await found()):
        for projector in projectors.values():
            assert projector.process is not None and projector.process.poll() is None, (
                f"{projector.name} exited: {projector.output()[-3000:]}"
            )
        assert time.monotonic() < deadline, f"no {what} in {WAIT_S}s"
        await asyncio.sleep(0.05)
    return result


def loaded(body: bytes | None) -> Any:
    return None if body is None else orjson.loads(body)


async def test_license_events_become_license_views_enriched_when_read(
    projectors: dict[str, Projector], own_settings: Settings, reader: ViewReader
) -> None:
    topics = own_settings.topics
    org, kept, dropped = str(uuid4()), str(uuid4()), str(uuid4())
    created = license_event("LicenseCreated", org, kept, 1, **SEATS)
    produce(
        own_settings,
        topics.organization_events,
        encoded(organization_event("OrganizationCreated", org, 1, **ACME)),
    )
    produce(
        own_settings,
        topics.license_events,
        encoded(
            created,
            license_event("LicenseCreated", org, dropped, 1, AT + timedelta(seconds=1), **SEATS),
            license_event("LicenseUpdated", org, kept, 2, **SEATS | {"comment": "renewed"}),
            license_event("LicenseDeleted", org, dropped, 2),
            created,  # redelivered: changes nothing
        ),
    )

    # Read-your-writes: woken by the license projector's PUBLISH.
    assert await reader.wait_for_version("license", org, kept, 2, WAIT_S) == 2
    assert await reader.wait_for_version("license", org, dropped, 2, WAIT_S) == 2
    view = await eventually(
        projectors,
        "the organization copy",
        lambda: _license_with(reader, org, kept, "organization_name", "Acme"),
    )

    assert view == {
        "license_id": kept,
        "organization_id": org,
        **SEATS,
        "comment": "renewed",
        "status": "active",
        "version": 2,
        "created_at": "2024-05-01T12:00:00.123Z",
        "updated_at": "2024-05-01T12:00:00.123Z",
        "organization_name": "Acme",
        "contact_name": "Ada",
        "contact_email": "ada@acme.example",
        "contact_phone": "+1 555 0100",
    }
    assert loaded(await reader.license(org, dropped))["status"] == "deleted"
    page = await reader.licenses(org, None, 10)
    assert ([loaded(item)["license_id"] for item in page.items], page.total) == ([kept], 1)
    history = [loaded(entry) for entry in await reader.history(org, dropped)]
    assert [(e["type"], e["version"]) for e in history] == [
        ("LicenseCreated", 1),
        ("LicenseDeleted", 2),
    ]

    # The organization changes: every license read shows it, no license rewritten.
    produce(
        own_settings,
        topics.organization_events,
        encoded(organization_event("OrganizationUpdated", org, 2, **ACME | {"name": "Acme Ltd"})),
    )
    await eventually(
        projectors,
        "the updated copy",
        lambda: _license_with(reader, org, kept, "organization_name", "Acme Ltd"),
    )
    page = await reader.licenses(org, None, 10)
    assert loaded(page.items[0])["organization_name"] == "Acme Ltd"
    assert await reader.version("license", org, kept) == 2
    assert await reader.wait_for_version("organization_history", org, org, 2, WAIT_S) == 2
    assert [loaded(entry)["type"] for entry in await reader.history(org, org)] == [
        "OrganizationCreated",
        "OrganizationUpdated",
    ]


async def _license_with(
    reader: ViewReader, organization_id: str, license_id: str, field: str, value: object
) -> Any:
    view = loaded(await reader.license(organization_id, license_id))
    return view if view is not None and view[field] == value else None
