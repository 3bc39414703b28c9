"""Organization events and commands of both schema versions in one running system.

Records written with v1 (no website) are produced straight into the session's topics
with a Codec that knows only the v1 files, as a producer built before v2 would write
them; v2 records come from the current code. The session's projectors turn both into
views, and the organization service rebuilds a v1-created organization from the
events topic and takes updates of either version for it.
"""

import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx
import pytest
from confluent_kafka import Producer

from ostock.commands import Issuer, organization_command
from ostock.contract import Codec, load_schemas
from ostock.contract.codec import HEADER_SIZE
from ostock.contract.schemas import SCHEMAS_DIR
from ostock.eventstore.log import AGGREGATE_ID, AGGREGATE_VERSION, EVENT_TYPE
from ostock.eventstore.mapper import event_id
from ostock.kafka.config import producer_config
from ostock.kafka.publisher import CommandPublisher
from ostock.settings import Settings
from tests.integration.conftest import wait_for_status
from tests.processes import Worker

pytestmark = pytest.mark.integration

ACME = {"name": "Acme", "contact_name": "Ada", "contact_email": "", "contact_phone": ""}
SITE = "https://acme.example"


@pytest.fixture(scope="module")
def old_codec(tmp_path_factory: pytest.TempPathFactory) -> Codec:
    """The codec of a process built before v2: every record in its v1 only."""
    schemas = tmp_path_factory.mktemp("schemas-v1")
    shutil.copytree(SCHEMAS_DIR / "common", schemas / "common")
    for path in SCHEMAS_DIR.glob("*/*.v1.avsc"):
        (schemas / path.parent.name).mkdir(exist_ok=True)
        shutil.copy(path, schemas / path.parent.name / path.name)
    return Codec(load_schemas(schemas))


class EventWriter:
    """Produces organization events as the organization service does: keyed by the
    organization, with the headers the event log indexes them by."""

    def __init__(self, settings: Settings) -> None:
        self.topic = settings.topics.organization_events
        self.timeout_s = settings.kafka_timeout_s
        self.producer = Producer(producer_config(settings))

    def write(
        self, codec: Codec, kind: str, organization_id: str, version: int, **details: Any
    ) -> bytes:
        name = f"ostock.organization.{kind}"
        meta = {
            "event_id": event_id(organization_id, version),
            "aggregate_id": organization_id,
            "organization_id": organization_id,
            "version": version,
            "occurred_at": datetime.now(UTC),
            "command_id": str(uuid4()),
            "correlation_id": str(uuid4()),
            "issued_by": "tester",
        }
        value = codec.encode(name, {"meta": meta, **details})
        self.producer.produce(
            self.topic,
            key=organization_id.encode(),
            value=value,
            headers=[
                (EVENT_TYPE, name.encode()),
                (AGGREGATE_ID, organization_id.encode()),
                (AGGREGATE_VERSION, str(version).encode()),
            ],
        )
        assert self.producer.flush(self.timeout_s) == 0
        return value


@pytest.fixture
def events(settings: Settings) -> Iterator[EventWriter]:
    writer = EventWriter(settings)
    yield writer
    writer.producer.flush(writer.timeout_s)


def view(api: httpx.Client, organization_id: str, version: int) -> dict[str, Any]:
    """The organization view once it holds `version` (read-your-writes, retried)."""
    deadline = time.monotonic() + 30
    while True:
        response = api.get(f"/v1/organizations/{organization_id}?min_version={version}")
        if response.status_code == 200 and response.json()["version"] == version:
            return dict(response.json())
        assert time.monotonic() < deadline, response.text
        time.sleep(0.1)


def test_v1_and_v2_events_project_into_views_with_website_null_for_v1(
    api: httpx.Client, events: EventWriter, old_codec: Codec
) -> None:
    current = Codec()
    only_v1, only_v2, v1_then_v2 = (str(uuid4()) for _ in range(3))
    written = [
        events.write(old_codec, "OrganizationCreated", only_v1, 1, **ACME),
        events.write(old_codec, "OrganizationUpdated", only_v1, 2, **ACME | {"name": "Acme 2"}),
        events.write(current, "OrganizationCreated", only_v2, 1, **ACME, website=SITE),
        events.write(old_codec, "OrganizationCreated", v1_then_v2, 1, **ACME),
        events.write(current, "OrganizationUpdated", v1_then_v2, 2, **ACME, website=SITE),
    ]
    # The records really carry the writer schema of their version.
    v1, v2 = load_schemas().versions["ostock.organization.OrganizationCreated"]
    assert written[0][2:HEADER_SIZE] == v1.fingerprint
    assert written[2][2:HEADER_SIZE] == v2.fingerprint

    assert view(api, only_v1, 2) | {"created_at": None, "updated_at": None} == {
        "organization_id": only_v1,
        "name": "Acme 2",
        "contact_name": "Ada",
        "contact_email": "",
        "contact_phone": "",
        "website": None,
        "status": "active",
        "version": 2,
        "created_at": None,
        "updated_at": None,
    }
    assert view(api, only_v2, 1)["website"] == SITE
    after_update = view(api, v1_then_v2, 2)
    assert (after_update["website"], after_update["name"]) == (SITE, "Acme")


def test_the_service_rebuilds_a_v1_organization_and_takes_updates_of_both_versions(
    api: httpx.Client,
    system: dict[str, Worker],
    settings: Settings,
    events: EventWriter,
    old_codec: Codec,
) -> None:
    organization_id = str(uuid4())
    events.write(old_codec, "OrganizationCreated", organization_id, 1, **ACME)
    # The service reads the events topic when it is given its partitions: restarted, it
    # rebuilds its organizations from the log, the one created by the v1 event among them.
    handler = system["organization-handler"]
    handler.stop()
    handler.start()

    update = api.put(
        f"/v1/organizations/{organization_id}",
        json=ACME | {"name": "Acme Ltd", "website": SITE, "expected_version": 1},
    )
    assert update.status_code == 202, update.text
    status = wait_for_status(api, update.json()["command_id"], timeout_s=60)
    assert (status["status"], status["version"]) == ("accepted", 2), status
    assert (view(api, organization_id, 2)["website"]) == SITE

    # A v1 command, as an API instance built before v2 would send it, is decided too.
    # An update replaces every detail, so one that cannot carry a website clears it.
    old_update = organization_command(
        "update", organization_id, Issuer("tester"), ACME | {"name": "Acme Group"}, 2
    )
    CommandPublisher(settings, old_codec).publish([old_update])
    status = wait_for_status(api, old_update.meta.command_id)
    assert (status["status"], status["version"]) == ("accepted", 3), status
    latest = view(api, organization_id, 3)
    assert (latest["name"], latest["website"]) == ("Acme Group", None)


def test_an_invalid_website_is_rejected_by_the_service(
    api: httpx.Client, settings: Settings
) -> None:
    """A command that skipped the API's checks (the CLI, a file) meets the domain's."""
    command = organization_command(
        "create", str(uuid4()), Issuer("tester"), ACME | {"website": "ftp://acme.example"}
    )
    CommandPublisher(settings).publish([command])

    status = wait_for_status(api, command.meta.command_id, timeout_s=60)

    assert (status["status"], status["error_code"]) == ("rejected", "invalid-field")
    assert "website" in status["error_message"]
