"""A Codec asks its lookup (the schema registry's port) for writer schemas it does not
ship, here a fake registry: what it finds decodes, nothing else does."""

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ostock.contract import Codec, UndecodableRecord, load_schemas
from ostock.contract.codec import MARKER
from ostock.contract.registry import fingerprint_of, registry_record, schema_of
from ostock.contract.schemas import SCHEMAS_DIR, Schema, canonical_fingerprint
from tests import records

CREATED = "ostock.organization.OrganizationCreated"
ORG = "0b3f7c1e-5a51-4d6f-9d0c-2f1b7e1f0a11"
FIELDS = {
    "meta": records.meta(ORG, ORG, 1, datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)),
    "name": "Acme",
    "contact_name": "Ada",
    "contact_email": "ada@acme.example",
    "contact_phone": "",
}


class FakeRegistry:
    """Every schema `current` ships, by fingerprint, as the registry topic holds them."""

    def __init__(self, current: Codec) -> None:
        pairs = (registry_record(v) for v in current.schemas.by_fingerprint.values())
        self.schemas = {fingerprint_of(key): schema_of(value) for key, value in pairs}
        self.asked: list[bytes] = []

    def __call__(self, fingerprint: bytes) -> Schema | None:
        self.asked.append(fingerprint)
        return self.schemas.get(fingerprint)


def old_schemas(tmp_path: Path, *, without: str = "") -> Path:
    """A copy of schemas/ with the v1 files only (and without the context `without`)."""
    shutil.copytree(SCHEMAS_DIR / "common", tmp_path / "common")
    for path in SCHEMAS_DIR.glob("*/*.v1.avsc"):
        if path.parent.name != without:
            (tmp_path / path.parent.name).mkdir(exist_ok=True)
            shutil.copy(path, tmp_path / path.parent.name / path.name)
    return tmp_path


def test_a_registry_record_is_the_full_schema_under_its_fingerprint() -> None:
    v2 = load_schemas().latest(CREATED)

    key, value = registry_record(v2)
    schema = schema_of(value)

    assert fingerprint_of(key) == v2.fingerprint
    assert schema is not None and canonical_fingerprint(schema) == v2.fingerprint
    # Unlike the canonical form, it keeps what a reader needs: logical types, defaults.
    assert b"timestamp-micros" in value and b'"default":null' in value


def test_an_old_reader_decodes_a_v2_record_found_in_the_registry(tmp_path: Path) -> None:
    current = Codec()
    registry = FakeRegistry(current)
    old = Codec(load_schemas(old_schemas(tmp_path)), lookup=registry)
    data = current.encode(CREATED, FIELDS | {"website": "https://acme.example"})

    assert old.decode(data, expected={CREATED}) == (CREATED, FIELDS)
    assert old.decode(data) == (CREATED, FIELDS)
    assert registry.asked == [current.schemas.latest(CREATED).fingerprint]  # then cached


def test_a_fingerprint_nobody_registered_is_an_unknown_schema(tmp_path: Path) -> None:
    registry = FakeRegistry(Codec())
    codec = Codec(lookup=registry)

    with pytest.raises(UndecodableRecord) as caught:
        codec.decode(MARKER + b"\x00" * 8 + b"\x02")

    assert caught.value.reason == "unknown-schema"
    assert registry.asked == [b"\x00" * 8]


def test_a_known_fingerprint_never_asks_the_lookup() -> None:
    registry = FakeRegistry(Codec())
    codec = Codec(lookup=registry)

    assert codec.decode(codec.encode(CREATED, FIELDS)).name == CREATED
    assert registry.asked == []


def test_a_schema_that_is_not_the_fingerprints_decodes_nothing(tmp_path: Path) -> None:
    current = Codec()
    v1 = load_schemas(old_schemas(tmp_path)).latest(CREATED)
    wrong = schema_of(registry_record(v1)[1])  # v1, answered for v2's fingerprint
    old = Codec(load_schemas(tmp_path), lookup=lambda _: wrong)

    with pytest.raises(UndecodableRecord) as caught:
        old.decode(current.encode(CREATED, FIELDS))

    assert caught.value.reason == "unknown-schema"


def test_a_found_record_of_a_name_unknown_here_stays_undecodable(tmp_path: Path) -> None:
    current = Codec()
    no_licenses = Codec(
        load_schemas(old_schemas(tmp_path, without="license")), lookup=FakeRegistry(current)
    )
    created = current.schemas.versions["ostock.license.LicenseCreated"][0]
    data = MARKER + created.fingerprint + b"\x00"

    with pytest.raises(UndecodableRecord) as unexpected:
        no_licenses.decode(data, expected={CREATED})
    with pytest.raises(UndecodableRecord) as unknown:
        no_licenses.decode(data)

    assert unexpected.value.reason == "unexpected-type"
    assert unknown.value.reason == "unknown-schema"
