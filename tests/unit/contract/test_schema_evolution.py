"""Every version in schemas/ must read every older version of the same record
(Avro resolution rules), so an incompatible change fails CI."""

import json
import shutil
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from fastavro import schemaless_reader, schemaless_writer
from fastavro.utils import generate_many

from ostock.contract import SchemaSet, load_schemas
from ostock.contract.schemas import SCHEMAS_DIR, SchemaVersion

# Enough random records to reach every branch of every union and every enum symbol.
SAMPLES = 50
SCHEMAS = load_schemas()
PAIRS = [
    pytest.param(older, newer, id=f"{name}:v{older.version}->v{newer.version}")
    for name, versions in SCHEMAS.versions.items()
    for i, newer in enumerate(versions)
    for older in versions[: i + 1]
]


def unreadable(older: SchemaVersion, newer: SchemaVersion) -> str | None:
    """Why `newer` cannot read records written with `older`, or None if it can: random
    records written with `older` are each read back with `newer` as the reader schema."""
    for datum in generate_many(older.parsed, SAMPLES):
        buffer = BytesIO()
        schemaless_writer(buffer, older.parsed, datum)
        buffer.seek(0)
        try:
            schemaless_reader(buffer, older.parsed, newer.parsed)
        except Exception as error:  # fastavro raises several types; any one is a failure
            return f"{type(error).__name__}: {error}"
    return None


def incompatibilities(schemas: SchemaSet) -> list[str]:
    """Every pair of versions of one record where the newer cannot read the older."""
    return [
        f"{older.path.name} -> {newer.path.name}: {reason}"
        for versions in schemas.versions.values()
        for i, newer in enumerate(versions)
        for older in versions[:i]
        if (reason := unreadable(older, newer)) is not None
    ]


def test_the_contract_has_every_record() -> None:
    names = set(SCHEMAS.versions)
    assert {
        "ostock.organization.CreateOrganization",
        "ostock.organization.OrganizationCreated",
        "ostock.CommandResult",
    } <= names


def test_every_schema_file_takes_part_in_the_check() -> None:
    files = {p for p in SCHEMAS_DIR.glob("*/*.avsc") if p.parent.name != "common"}
    checked = {version.path for versions in SCHEMAS.versions.values() for version in versions}
    assert files == checked


@pytest.mark.parametrize(("older", "newer"), PAIRS)
def test_newer_reads_older(older: SchemaVersion, newer: SchemaVersion) -> None:
    assert unreadable(older, newer) is None


Fields = list[dict[str, Any]]


def _contract_with(tmp_path: Path, *versions: Fields) -> SchemaSet:
    """A contract in `tmp_path`: the real shared types, and the versions of test.Widget."""
    shutil.copytree(SCHEMAS_DIR / "common", tmp_path / "common")
    (tmp_path / "test").mkdir()
    for number, fields in enumerate(versions, 1):
        schema = {"type": "record", "name": "Widget", "namespace": "test", "fields": fields}
        (tmp_path / "test" / f"Widget.v{number}.avsc").write_text(json.dumps(schema))
    return load_schemas(tmp_path)


V1: Fields = [{"name": "meta", "type": "ostock.EventMeta"}, {"name": "name", "type": "string"}]


@pytest.mark.parametrize(
    ("v2_field", "reason"),
    [
        pytest.param({"name": "seats", "type": "int"}, "seats", id="new field without default"),
        pytest.param({"name": "name", "type": "int"}, "string is not int", id="another type"),
        pytest.param(
            {"name": "name", "type": ["null", "int"], "default": None},
            "string is not ['null', 'int']",
            id="a union without the old type",
        ),
    ],
)
def test_the_check_catches_an_incompatible_version(
    tmp_path: Path, v2_field: dict[str, Any], reason: str
) -> None:
    v2 = [field for field in V1 if field["name"] != v2_field["name"]] + [v2_field]
    schemas = _contract_with(tmp_path, V1, v2)

    [problem] = incompatibilities(schemas)

    assert problem.startswith("Widget.v1.avsc -> Widget.v2.avsc")
    assert reason in problem


def test_the_check_passes_a_new_field_with_a_default_and_a_removed_field(
    tmp_path: Path,
) -> None:
    v2: Fields = [V1[0], {"name": "seats", "type": ["null", "int"], "default": None}]
    v3: Fields = [*v2, {"name": "size", "type": "string", "default": "m"}]

    assert incompatibilities(_contract_with(tmp_path, V1, v2, v3)) == []
