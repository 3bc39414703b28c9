"""Avro single-object encoding (Avro spec): 0xC3 0x01, the writer schema's
8-byte little-endian CRC-64-AVRO fingerprint, then the Avro binary body.

The reader finds the writer schema by fingerprint and resolves it against the
newest version of the same record, so records written with any published
version decode into the current shape. A writer schema it does not ship (a newer
version, published after this process was built) it asks its lookup for: the
schema registry.
"""

from collections.abc import Collection, Mapping
from io import BytesIO
from typing import Any, NamedTuple

from fastavro import parse_schema, schemaless_reader, schemaless_writer

from ostock.contract.records import (
    Contract,
    Kinds,
    R,
    Record,
    UndecodableRecord,
    fields_of,
    name_of,
    typed,
)
from ostock.contract.registry import SchemaLookup
from ostock.contract.schemas import (
    Schema,
    SchemaSet,
    SchemaVersion,
    canonical_fingerprint,
    load_schemas,
)

MARKER = b"\xc3\x01"
HEADER_SIZE = len(MARKER) + 8


class FoundSchema(NamedTuple):
    """A writer schema the lookup found: not shipped with this process."""

    full_name: str
    parsed: Schema


class Codec:
    """Encodes and decodes every record of the contract; schemas parsed, fingerprints cached.

    `lookup` finds the writer schemas of fingerprints that `schemas` lacks; without
    one, such records are `unknown-schema`.
    """

    def __init__(
        self, schemas: SchemaSet | None = None, lookup: SchemaLookup | None = None
    ) -> None:
        self.schemas = schemas if schemas is not None else load_schemas()
        self.lookup = lookup
        self._found: dict[bytes, FoundSchema] = {}

    def encode(self, name: str, fields: Mapping[str, Any]) -> bytes:
        """Frame `fields` as the newest version of record `name`."""
        writer = self.schemas.latest(name)
        out = BytesIO()
        out.write(MARKER)
        out.write(writer.fingerprint)
        schemaless_writer(out, writer.parsed, dict(fields))
        return out.getvalue()

    def write(self, record: Contract) -> bytes:
        """Frame a record of the contract as the newest version of its schema."""
        return self.encode(name_of(record), fields_of(record))

    def read(self, data: bytes | None, expected: Kinds[R]) -> R:
        """Read a framed record of the contract as its type, one of `expected`."""
        return expected.narrow(typed(self.decode(data, expected.names)))

    def decode(self, data: bytes | None, expected: Collection[str] | None = None) -> Record:
        """Read a framed record as its name and fields, any record a schema describes;
        `expected` limits which record names are acceptable here."""
        if data is None:
            raise UndecodableRecord("bad-framing", "no value (a tombstone?)")
        writer = self._writer_of(data)
        if expected is not None and writer.full_name not in expected:
            raise UndecodableRecord("unexpected-type", f"{writer.full_name} does not belong here")
        try:
            reader = self.schemas.latest(writer.full_name)
        except KeyError:  # a record this process has no version of at all
            raise UndecodableRecord(
                "unknown-schema", f"no local schema {writer.full_name}"
            ) from None
        body = BytesIO(data)
        body.seek(HEADER_SIZE)
        try:
            fields = schemaless_reader(
                body, writer.parsed, None if reader is writer else reader.parsed
            )
        except Exception as error:  # fastavro raises several types for a corrupt body
            raise UndecodableRecord("corrupt-body", f"{type(error).__name__}: {error}") from error
        if not isinstance(fields, dict):
            raise UndecodableRecord("corrupt-body", "not a record")
        return Record(writer.full_name, fields)

    def _writer_of(self, data: bytes) -> SchemaVersion | FoundSchema:
        if len(data) < HEADER_SIZE or data[:2] != MARKER:
            raise UndecodableRecord("bad-framing", "not an Avro single-object encoded record")
        fingerprint = bytes(data[2:HEADER_SIZE])
        writer = self.schemas.by_fingerprint.get(fingerprint) or self._found.get(fingerprint)
        return writer if writer is not None else self._look_up(fingerprint)

    def _look_up(self, fingerprint: bytes) -> FoundSchema:
        schema = self.lookup(fingerprint) if self.lookup is not None else None
        if schema is None:
            raise UndecodableRecord("unknown-schema", f"fingerprint {fingerprint.hex()}")
        parsed = _parsed_with(schema, fingerprint)
        if parsed is None:  # a wrong registry entry must decode nothing
            raise UndecodableRecord(
                "unknown-schema", f"fingerprint {fingerprint.hex()}: the schema found is not it"
            )
        found = FoundSchema(str(parsed["name"]), parsed)
        self._found[fingerprint] = found
        return found


def _parsed_with(schema: Schema, fingerprint: bytes) -> Schema | None:
    """`schema` parsed, if it is a valid record schema of that fingerprint."""
    try:
        parsed = parse_schema(schema, named_schemas={}, expand=True)
    except Exception:  # fastavro raises several types for an invalid schema
        return None
    if not isinstance(parsed, dict) or parsed.get("type") != "record":
        return None
    return parsed if canonical_fingerprint(parsed) == fingerprint else None
