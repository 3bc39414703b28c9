"""Avro single-object encoding (Avro spec): 0xC3 0x01, the writer schema's
8-byte little-endian CRC-64-AVRO fingerprint, then the Avro binary body.

The reader finds the writer schema by fingerprint and resolves it against the
newest version of the same record, so records written with any published
version decode into the current shape.
"""

from collections.abc import Collection, Mapping
from io import BytesIO
from typing import Any, NamedTuple

from fastavro import schemaless_reader, schemaless_writer

from ostock.contract.schemas import SchemaSet, SchemaVersion, load_schemas

MARKER = b"\xc3\x01"
HEADER_SIZE = len(MARKER) + 8


class UndecodableRecord(ValueError):
    """A record that cannot be read: bad framing, unknown schema, corrupt body or wrong type."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class Record(NamedTuple):
    """A decoded record: its full schema name and its fields in the reader's shape."""

    name: str
    fields: dict[str, Any]


class Codec:
    """Encodes and decodes every record of the contract; schemas parsed, fingerprints cached."""

    def __init__(self, schemas: SchemaSet | None = None) -> None:
        self.schemas = schemas if schemas is not None else load_schemas()

    def encode(self, name: str, fields: Mapping[str, Any]) -> bytes:
        """Frame `fields` as the newest version of record `name`."""
        writer = self.schemas.latest(name)
        out = BytesIO()
        out.write(MARKER)
        out.write(writer.fingerprint)
        schemaless_writer(out, writer.parsed, dict(fields))
        return out.getvalue()

    def decode(self, data: bytes | None, expected: Collection[str] | None = None) -> Record:
        """Read a framed record; `expected` limits which record names are acceptable here."""
        if data is None:
            raise UndecodableRecord("bad-framing", "no value (a tombstone?)")
        writer = self._writer_of(data)
        if expected is not None and writer.full_name not in expected:
            raise UndecodableRecord("unexpected-type", f"{writer.full_name} does not belong here")
        reader = self.schemas.latest(writer.full_name)
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

    def _writer_of(self, data: bytes) -> SchemaVersion:
        if len(data) < HEADER_SIZE or data[:2] != MARKER:
            raise UndecodableRecord("bad-framing", "not an Avro single-object encoded record")
        fingerprint = bytes(data[2:HEADER_SIZE])
        try:
            return self.schemas.by_fingerprint[fingerprint]
        except KeyError:
            raise UndecodableRecord("unknown-schema", f"fingerprint {fingerprint.hex()}") from None
