"""The schema registry on the real broker: a process built before v2 of the organization
records reads v2 ones, finding their writer schema in the registry topic."""

import json
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource  # type: ignore[attr-defined]
from eventsourcing.persistence import StoredEvent

from ostock.contract import Codec, UndecodableRecord, load_schemas
from ostock.contract.codec import MARKER
from ostock.contract.schemas import SCHEMAS_DIR
from ostock.handlers.application import kafka_env
from ostock.handlers.organization import OrganizationService
from ostock.infra.acls import grants
from ostock.kafka.config import admin_config
from ostock.kafka.schema_registry import KafkaSchemaLookup, RegistrationError, register
from ostock.settings import Settings
from tests import records
from tests.secured import secured_infra

CREATED = "ostock.organization.OrganizationCreated"
ORG = "5d1c0e2a-8f4b-4c3e-9a61-7b2d9e0f4c11"
V1_FIELDS: dict[str, Any] = {
    "meta": records.meta(ORG, ORG, 1, datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)),
    "name": "Acme",
    "contact_name": "Ada",
    "contact_email": "ada@acme.example",
    "contact_phone": "+1 555 0100",
}


def v1_schemas(folder: Path) -> Path:
    """A copy of schemas/ as it was before v2: every record in its first version."""
    shutil.copytree(SCHEMAS_DIR / "common", folder / "common")
    for path in SCHEMAS_DIR.glob("*/*.v1.avsc"):
        (folder / path.parent.name).mkdir(exist_ok=True)
        shutil.copy(path, folder / path.parent.name / path.name)
    return folder


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings (as the admin) of a Kafka of this module's own, with SCRAM logins and ACLs."""
    with secured_infra(tmp_path_factory.mktemp("secured")) as settings:
        yield settings


@pytest.fixture
def lookup(settings: Settings) -> Iterator[KafkaSchemaLookup]:
    """A lookup of the session's registry, re-reading it at most every half second."""
    lookup = KafkaSchemaLookup(settings, refresh_s=0.5)
    yield lookup
    lookup.close()


def test_the_registry_is_compacted_and_kept_forever(settings: Settings) -> None:
    admin = AdminClient(admin_config(settings))
    resource = ConfigResource("topic", settings.topics.schemas)

    config = admin.describe_configs([resource])[resource].result(timeout=settings.kafka_timeout_s)

    assert config["cleanup.policy"].value == "compact"
    assert config["retention.ms"].value == "-1"


def test_a_v1_process_reads_a_v2_record_through_the_registry(
    settings: Settings, tmp_path: Path, lookup: KafkaSchemaLookup
) -> None:
    old = Codec(load_schemas(v1_schemas(tmp_path)), lookup=lookup)
    current = Codec()  # its schemas were registered when the session created the topics
    data = current.encode(CREATED, V1_FIELDS | {"website": "https://acme.example"})

    record = old.decode(data, expected={CREATED})

    # Every v1 field, timestamps as datetimes (the registry keeps logical types), no website.
    assert record == (CREATED, V1_FIELDS)


def test_a_fingerprint_nobody_registered_is_an_unknown_schema(
    lookup: KafkaSchemaLookup, monkeypatch: pytest.MonkeyPatch
) -> None:
    codec = Codec(lookup=lookup)
    garbage = MARKER + bytes.fromhex("0123456789abcdef") + b"\x00"
    reads = 0
    read_new = lookup._read_new

    def counted() -> None:
        nonlocal reads
        reads += 1
        read_new()

    monkeypatch.setattr(lookup, "_read_new", counted)

    with pytest.raises(UndecodableRecord) as caught:
        codec.decode(garbage)
    with pytest.raises(UndecodableRecord):
        codec.decode(garbage)  # asked again at once: the registry is not read again

    assert caught.value.reason == "unknown-schema"
    assert reads == 1


def test_a_schema_registered_after_the_first_read_is_found_on_the_next(
    settings: Settings, tmp_path: Path, lookup: KafkaSchemaLookup
) -> None:
    # A v3 published later, with one more optional field.
    newer = tmp_path / "newer"
    shutil.copytree(SCHEMAS_DIR, newer)
    v2 = json.loads((newer / "organization" / "OrganizationCreated.v2.avsc").read_text())
    v2["fields"].append({"name": "vat_id", "type": ["null", "string"], "default": None})
    (newer / "organization" / "OrganizationCreated.v3.avsc").write_text(json.dumps(v2))
    writer = Codec(load_schemas(newer))
    old = Codec(load_schemas(v1_schemas(tmp_path / "old")), lookup=lookup)
    assert old.decode(Codec().encode(CREATED, V1_FIELDS)) == (CREATED, V1_FIELDS)  # first read

    register(settings, writer.schemas)  # as the v3 writer does at its start-up
    time.sleep(0.5)
    data = writer.encode(CREATED, V1_FIELDS | {"website": None, "vat_id": "BE0123"})

    assert old.decode(data) == (CREATED, V1_FIELDS)


def test_a_v1_service_rebuilds_its_aggregates_from_v2_events(
    settings: Settings, tmp_path: Path, lookup: KafkaSchemaLookup
) -> None:
    # As ostock.handlers.worker builds it: one codec, with the lookup, for its events too.
    old = Codec(load_schemas(v1_schemas(tmp_path)), lookup=lookup)
    env = kafka_env(
        settings, settings.topics.organization_events, f"ostock.registry-test.{uuid4().hex}"
    )
    service = OrganizationService(env=env, codec=old)
    v2_event = Codec().encode(CREATED, V1_FIELDS | {"website": "https://acme.example"})
    try:
        created: Any = service.mapper.to_domain_event(StoredEvent(UUID(ORG), 1, CREATED, v2_event))
    finally:
        service.close()

    assert (created.originator_id, created.originator_version) == (UUID(ORG), 1)
    assert (created.name, created.contact_email) == ("Acme", "ada@acme.example")


# The lag exporter reads records' timestamps only, never their values: no registry.
DECODING = sorted(set(grants(Settings())) - {"lag-exporter"})


@pytest.mark.parametrize("principal", DECODING)
def test_under_acls_every_principal_finds_a_schema_it_does_not_ship(
    secured: Settings, principal: str, tmp_path: Path
) -> None:
    login = secured.model_copy(update={"kafka_principal": principal})
    lookup = KafkaSchemaLookup(login)
    old = Codec(load_schemas(v1_schemas(tmp_path)), lookup=lookup)
    data = Codec().encode(CREATED, V1_FIELDS | {"website": "https://acme.example"})
    try:
        assert old.decode(data) == (CREATED, V1_FIELDS)
    finally:
        lookup.close()


@pytest.mark.parametrize("principal", ["api", "organization-service", "licensing-service", "saga"])
def test_under_acls_every_writer_registers_its_schemas(secured: Settings, principal: str) -> None:
    login = secured.model_copy(update={"kafka_principal": principal})

    assert register(login, load_schemas()) == len(load_schemas().by_fingerprint)


def test_under_acls_a_projector_registers_nothing(secured: Settings) -> None:
    login = secured.model_copy(update={"kafka_principal": "projector"})

    with pytest.raises(RegistrationError):
        register(login, load_schemas())
