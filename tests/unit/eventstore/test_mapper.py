"""Domain events <-> Avro records: an organization created by a v1 event, rebuilt the
way the organization service rebuilds it from the events topic, takes an update."""

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, uuid4, uuid5

from eventsourcing.persistence import StoredEvent

from ostock.contract import Codec, load_schemas
from ostock.contract.schemas import SCHEMAS_DIR
from ostock.domain.aggregate import Issued
from ostock.domain.organization import Organization, OrganizationDetails
from ostock.eventstore.mapper import AvroMapper, event_id
from tests import records

CREATED = "ostock.organization.OrganizationCreated"


def v1_codec(tmp_path: Path) -> Codec:
    """A Codec that knows the organization records in their v1 only."""
    shutil.copytree(SCHEMAS_DIR / "common", tmp_path / "common")
    (tmp_path / "organization").mkdir()
    for path in (SCHEMAS_DIR / "organization").glob("*.v1.avsc"):
        shutil.copy(path, tmp_path / "organization" / path.name)
    return Codec(load_schemas(tmp_path))


def test_an_organization_created_by_a_v1_event_takes_an_update_with_a_website(
    tmp_path: Path,
) -> None:
    organization_id = uuid4()
    at = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    fields: dict[str, Any] = {
        "meta": records.meta(str(organization_id), str(organization_id), 1, at),
        "name": "Acme",
        "contact_name": "Ada",
        "contact_email": "",
        "contact_phone": "",
    }
    stored = StoredEvent(organization_id, 1, CREATED, v1_codec(tmp_path).encode(CREATED, fields))
    mapper = AvroMapper()

    created: Any = mapper.to_domain_event(stored)
    organization: Organization = created.mutate(None)

    assert (organization.details.name, organization.details.website) == ("Acme", None)
    assert organization.version == 1
    site = OrganizationDetails("Acme", "Ada", website="https://acme.example")
    organization.update(site, Issued("c2", "r2", "ada"), expected_version=1)
    [updated] = organization.collect_events()
    record = Codec().decode(mapper.to_stored_event(updated).state)
    assert record.name == "ostock.organization.OrganizationUpdated"
    assert (record.fields["meta"]["version"], record.fields["website"]) == (
        2,
        "https://acme.example",
    )


def test_event_ids_are_the_uuid5_of_aggregate_and_version() -> None:
    for version in range(1, 200):
        aggregate_id = str(uuid4())
        expected = uuid5(NAMESPACE_URL, f"ostock:{aggregate_id}:{version}")
        assert event_id(aggregate_id, version) == str(expected)
