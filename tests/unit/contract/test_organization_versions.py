"""Organization records, v1 and v2 (website added): real encodings both ways.

An "old" process is a Codec over a copy of schemas/ that holds only the v1 files, as
a producer or consumer built before v2 was published."""

import shutil
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from fastavro import schemaless_reader

from ostock.contract import Codec, UndecodableRecord, load_schemas
from ostock.contract.codec import HEADER_SIZE
from ostock.contract.registry import registry_record, schema_of
from ostock.contract.schemas import SCHEMAS_DIR
from tests import records

ORG = "0b3f7c1e-5a51-4d6f-9d0c-2f1b7e1f0a11"
AT = datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)
COMMAND_META = {
    "command_id": "c1",
    "aggregate_id": ORG,
    "organization_id": ORG,
    "expected_version": None,
    "issued_at": datetime(2026, 11, 25, 12, 0, 0, 123000, tzinfo=UTC),
    "issued_by": "ada",
    "correlation_id": "r1",
}
DETAILS = {"name": "Acme", "contact_name": "Ada", "contact_email": "", "contact_phone": ""}
#: The records v2 added `website` to, each with the fields of one record of it.
V2_RECORDS: dict[str, dict[str, Any]] = {
    "ostock.organization.OrganizationCreated": {
        "meta": records.meta(ORG, ORG, 1, AT),
        **DETAILS,
    },
    "ostock.organization.OrganizationUpdated": {
        "meta": records.meta(ORG, ORG, 2, AT),
        **DETAILS,
    },
    "ostock.organization.CreateOrganization": {"meta": COMMAND_META, **DETAILS},
    "ostock.organization.UpdateOrganization": {"meta": COMMAND_META, **DETAILS},
}
#: The fingerprints old records carry: a v1 file edited in place would orphan them.
V1_FINGERPRINTS = {
    "ostock.organization.OrganizationCreated": "929ed7fa198f86f4",
    "ostock.organization.OrganizationUpdated": "4dcedb24dacb7567",
    "ostock.organization.CreateOrganization": "2719930e5cb8910c",
    "ostock.organization.UpdateOrganization": "ae060edd4c41d4ea",
}


@pytest.fixture
def old_codec(tmp_path: Path) -> Codec:
    """A Codec that knows every record in its v1 only."""
    shutil.copytree(SCHEMAS_DIR / "common", tmp_path / "common")
    for path in SCHEMAS_DIR.glob("*/*.v1.avsc"):
        (tmp_path / path.parent.name).mkdir(exist_ok=True)
        shutil.copy(path, tmp_path / path.parent.name / path.name)
    return Codec(load_schemas(tmp_path))


def test_the_v1_files_still_have_the_fingerprints_old_records_carry() -> None:
    schemas = load_schemas()
    for name, fingerprint in V1_FINGERPRINTS.items():
        [v1, v2] = schemas.versions[name]
        assert (v1.version, v1.fingerprint.hex()) == (1, fingerprint)
        assert schemas.latest(name) is v2


@pytest.mark.parametrize("name", V2_RECORDS)
def test_a_v1_record_decodes_with_website_none(name: str, old_codec: Codec) -> None:
    written_by_v1 = old_codec.encode(name, V2_RECORDS[name])
    assert written_by_v1[2:HEADER_SIZE].hex() == V1_FINGERPRINTS[name]

    decoded = Codec().decode(written_by_v1)

    assert decoded == (name, V2_RECORDS[name] | {"website": None})


@pytest.mark.parametrize("name", V2_RECORDS)
def test_a_v2_record_keeps_its_website(name: str) -> None:
    codec = Codec()
    fields = V2_RECORDS[name] | {"website": "https://acme.example/about"}

    data = codec.encode(name, fields)

    assert data[2:HEADER_SIZE] == codec.schemas.latest(name).fingerprint
    assert codec.decode(data) == (name, fields)


@pytest.mark.parametrize("name", V2_RECORDS)
def test_a_v1_reader_reads_a_v2_record_without_the_website(name: str, old_codec: Codec) -> None:
    data = Codec().encode(name, V2_RECORDS[name] | {"website": "https://acme.example"})
    v2 = load_schemas().latest(name)
    v1 = old_codec.schemas.latest(name)
    body = BytesIO(data)
    body.seek(HEADER_SIZE)

    # Avro resolution: the reader skips the field it does not know.
    assert schemaless_reader(body, v2.parsed, v1.parsed) == V2_RECORDS[name]


def test_an_old_process_finds_the_v2_writer_schema_in_the_registry(old_codec: Codec) -> None:
    """The single-object encoding names the writer by its fingerprint only: a process
    started before v2 was published asks the schema registry for it, then Avro resolves
    v2 against its own v1 (the website skipped)."""
    name = "ostock.organization.OrganizationCreated"
    current = Codec()
    registry = dict(registry_record(v) for v in current.schemas.by_fingerprint.values())
    old_reader = Codec(
        old_codec.schemas,
        lookup=lambda fingerprint: schema_of(registry[fingerprint.hex().encode()]),
    )
    data = current.encode(name, V2_RECORDS[name] | {"website": "https://acme.example"})

    assert old_reader.decode(data) == (name, V2_RECORDS[name])


def test_without_the_registry_an_old_process_cannot_find_the_v2_writer_schema(
    old_codec: Codec,
) -> None:
    name = "ostock.organization.OrganizationCreated"
    data = Codec().encode(name, V2_RECORDS[name])

    with pytest.raises(UndecodableRecord) as caught:
        old_codec.decode(data)

    assert caught.value.reason == "unknown-schema"
