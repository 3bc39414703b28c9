"""The single-object codec: framing, fingerprints, resolution against newer readers."""

import json
import struct
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastavro import parse_schema

from ostock.contract import Codec, UndecodableRecord, load_schemas
from ostock.contract.codec import MARKER
from ostock.contract.schemas import canonical_fingerprint

NOW = datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)
META = {
    "event_id": "e1",
    "aggregate_id": "a1",
    "organization_id": "a1",
    "version": 1,
    "occurred_at": NOW,
    "command_id": "c1",
    "correlation_id": "r1",
    "issued_by": "tester",
}
CREATED = "ostock.organization.OrganizationCreated"


def test_fingerprint_matches_the_avro_spec_value_for_null() -> None:
    null: Any = parse_schema("null")
    assert canonical_fingerprint(null) == struct.pack("<q", 7195948357588979594)


def test_round_trip_keeps_every_field() -> None:
    codec = Codec()
    fields = {
        "meta": META,
        "name": "Acme",
        "contact_name": "Ada",
        "contact_email": "",
        "contact_phone": "1",
        "website": "https://acme.example",
    }
    data = codec.encode(CREATED, fields)
    assert data[:2] == MARKER
    assert data[2:10] == codec.schemas.latest(CREATED).fingerprint
    assert codec.decode(data) == (CREATED, fields)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"garbage bytes", "bad-framing"),
        (None, "bad-framing"),
        (MARKER + b"\x00" * 8 + b"\x02", "unknown-schema"),
    ],
)
def test_undecodable_records_say_why(data: bytes | None, reason: str) -> None:
    with pytest.raises(UndecodableRecord) as caught:
        Codec().decode(data)
    assert caught.value.reason == reason


def test_a_truncated_body_is_corrupt() -> None:
    codec = Codec()
    data = codec.encode(CREATED, {"meta": META, "name": "Acme"})
    with pytest.raises(UndecodableRecord) as caught:
        codec.decode(data[:14])
    assert caught.value.reason == "corrupt-body"


def test_a_record_of_another_type_is_refused_where_it_does_not_belong() -> None:
    codec = Codec()
    data = codec.encode(CREATED, {"meta": META, "name": "Acme"})
    with pytest.raises(UndecodableRecord) as caught:
        codec.decode(data, expected={"ostock.organization.CreateOrganization"})
    assert caught.value.reason == "unexpected-type"


def _record(version_fields: list[dict[str, object]]) -> dict[str, object]:
    return {"type": "record", "name": "Widget", "namespace": "test", "fields": version_fields}


def test_a_v1_record_reads_with_the_v2_reader(tmp_path: Path) -> None:
    (tmp_path / "common").mkdir()
    (tmp_path / "test").mkdir()
    v1 = _record([{"name": "name", "type": "string"}])
    v2 = _record(
        [{"name": "name", "type": "string"}, {"name": "seats", "type": "int", "default": 1}]
    )
    (tmp_path / "test" / "Widget.v1.avsc").write_text(json.dumps(v1))
    old_writer = Codec(load_schemas(tmp_path))
    written_by_v1 = old_writer.encode("test.Widget", {"name": "w"})

    (tmp_path / "test" / "Widget.v2.avsc").write_text(json.dumps(v2))
    reader = Codec(load_schemas(tmp_path))
    assert reader.decode(written_by_v1) == ("test.Widget", {"name": "w", "seats": 1})
    assert (
        reader.decode(reader.encode("test.Widget", {"name": "w", "seats": 9})).fields["seats"] == 9
    )


def test_schema_files_are_named_after_their_record(tmp_path: Path) -> None:
    (tmp_path / "common").mkdir()
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "Gadget.v1.avsc").write_text(json.dumps(_record([])))
    with pytest.raises(ValueError, match="does not match"):
        load_schemas(tmp_path)
