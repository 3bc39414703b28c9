"""The schema registry's records, and the port a Codec asks for writer schemas it lacks.

The registry is a compacted Kafka topic holding every writer schema ever written,
keyed by fingerprint (ostock.kafka.schema_registry reads and writes it). Only its record
format lives here, so the contract stays free of Kafka.
"""

import json
from collections.abc import Callable

from ostock.contract.schemas import Schema, SchemaVersion

#: A writer schema by its 8-byte fingerprint, as Avro JSON; None when nobody registered it.
SchemaLookup = Callable[[bytes], Schema | None]


def registry_record(version: SchemaVersion) -> tuple[bytes, bytes]:
    """The key (the fingerprint in hex) and value (the schema's Avro JSON) of `version`.

    The value is the full schema, not its parsing canonical form: that form drops the
    logical types (timestamps) and defaults a reader needs. Its canonical form still
    has the key's fingerprint.
    """
    schema = {key: value for key, value in version.parsed.items() if not key.startswith("__")}
    value = json.dumps(schema, sort_keys=True, separators=(",", ":"))
    return version.fingerprint.hex().encode(), value.encode()


def fingerprint_of(key: bytes | None) -> bytes | None:
    """The fingerprint a registry key names, or None if it names none."""
    try:
        fingerprint = bytes.fromhex((key or b"").decode())
    except (UnicodeDecodeError, ValueError):
        return None
    return fingerprint if len(fingerprint) == 8 else None


def schema_of(value: bytes) -> Schema | None:
    """The schema of a registry value, or None if it holds no JSON object."""
    try:
        schema = json.loads(value)
    except ValueError:
        return None
    return schema if isinstance(schema, dict) else None
