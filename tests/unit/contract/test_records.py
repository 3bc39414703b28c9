"""Each type of ostock.contract.records is the newest version of its schema: the same
fields in the same order, each of the Python type the Avro type decodes to."""

import typing
from datetime import UTC, datetime
from typing import Any, Literal

import pytest

from ostock.contract import Codec, UndecodableRecord, names
from ostock.contract.records import (
    COMMANDS,
    TYPES,
    CommandMeta,
    DeleteLicense,
    EventMeta,
    Record,
    name_of,
    typed,
)
from ostock.contract.schemas import load_schemas

SCHEMAS = load_schemas()
_PRIMITIVES: dict[str, Any] = {"string": str, "long": int, "int": int, "boolean": bool}


def python_type(avro: Any) -> Any:
    """The Python type fastavro decodes `avro` (a parsed, expanded schema type) to."""
    if isinstance(avro, list):
        members = [python_type(member) for member in avro if member != "null"]
        optional = "null" in avro
        (member,) = members
        return member | None if optional else member
    if isinstance(avro, dict):
        if avro.get("logicalType", "").startswith("timestamp-"):
            return datetime
        if avro["type"] == "enum":
            return Literal[tuple(avro["symbols"])]
        if avro["type"] == "record":
            return (
                f"{avro['namespace']}.{avro['name']}" if "." not in avro["name"] else avro["name"]
            )
        return python_type(avro["type"])
    return _PRIMITIVES[avro]


ENVELOPES: dict[type, str] = {CommandMeta: "ostock.CommandMeta", EventMeta: "ostock.EventMeta"}


def declared(kind: type) -> list[tuple[str, Any]]:
    """The fields of a record type; an envelope by its full schema name."""
    hints = typing.get_type_hints(kind)
    return [(field, ENVELOPES.get(hints[field], hints[field])) for field in kind._fields]  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(TYPES))
def test_each_type_is_the_newest_version_of_its_schema(name: str) -> None:
    schema = SCHEMAS.latest(name).parsed
    expected = [(field["name"], python_type(field["type"])) for field in schema["fields"]]

    assert declared(TYPES[name]) == expected
    defaults = {field["name"]: field["default"] for field in schema["fields"] if "default" in field}
    assert TYPES[name]._field_defaults.items() <= defaults.items()


@pytest.mark.parametrize("kind", list(ENVELOPES))
def test_each_envelope_is_its_schema(kind: type) -> None:
    schema = _expanded(ENVELOPES[kind])

    assert declared(kind) == [(f["name"], python_type(f["type"])) for f in schema["fields"]]


def _expanded(full_name: str) -> dict[str, Any]:
    for name in TYPES:
        for field in SCHEMAS.latest(name).parsed["fields"]:
            if isinstance(field["type"], dict) and field["type"].get("name") == full_name:
                return field["type"]
    raise AssertionError(f"{full_name} is in no record")


def test_every_record_of_the_contract_has_a_type() -> None:
    assert set(TYPES) == set(SCHEMAS.versions)


def test_a_record_survives_write_and_read_as_its_type() -> None:
    codec = Codec()
    meta = CommandMeta("c-1", "a-1", "o-1", 3, datetime(2024, 5, 1, 12, tzinfo=UTC), "ada", "corr")
    command = DeleteLicense(meta)

    assert codec.read(codec.write(command), COMMANDS) == command
    assert name_of(command) == names.DELETE_LICENSE


def test_a_record_outside_the_contract_is_unexpected() -> None:
    with pytest.raises(UndecodableRecord) as raised:
        typed(Record("test.Widget", {}))

    assert raised.value.reason == "unexpected-type"
