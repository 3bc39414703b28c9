"""Every version in schemas/ must read every older version of the same record
(Avro resolution rules), so an incompatible change fails CI."""

from io import BytesIO

import pytest
from fastavro import schemaless_reader, schemaless_writer
from fastavro.utils import generate_many

from ostock.contract import load_schemas

SCHEMAS = load_schemas()
PAIRS = [
    pytest.param(older, newer, id=f"{name}:v{older.version}->v{newer.version}")
    for name, versions in SCHEMAS.versions.items()
    for i, newer in enumerate(versions)
    for older in versions[: i + 1]
]


def test_the_contract_has_every_record() -> None:
    names = set(SCHEMAS.versions)
    assert {
        "ostock.organization.CreateOrganization",
        "ostock.organization.OrganizationCreated",
        "ostock.CommandResult",
    } <= names


@pytest.mark.parametrize(("older", "newer"), PAIRS)
def test_newer_reads_older(older, newer) -> None:  # type: ignore[no-untyped-def]
    for datum in generate_many(older.parsed, 20):
        buffer = BytesIO()
        schemaless_writer(buffer, older.parsed, datum)
        buffer.seek(0)
        schemaless_reader(buffer, older.parsed, newer.parsed)
