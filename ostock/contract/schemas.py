"""Loading every published schema version from schemas/.

Layout: ``schemas/common/<full.Name>.avsc`` holds named types shared by records
(envelopes), loaded first; ``schemas/<context>/<Name>.v<N>.avsc`` holds version N
of one record. Every version stays forever so that old records stay readable.
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastavro import parse_schema
from fastavro.schema import fingerprint, to_parsing_canonical_form

SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"
_VERSIONED = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\.v(?P<version>\d+)\.avsc$")

Schema = dict[str, Any]


@dataclass(frozen=True)
class SchemaVersion:
    """One published version of a record schema."""

    full_name: str
    version: int
    parsed: Schema
    fingerprint: bytes
    path: Path


@dataclass
class SchemaSet:
    """All versions of all records, indexed by fingerprint and by full name."""

    by_fingerprint: dict[bytes, SchemaVersion] = field(default_factory=dict)
    versions: dict[str, list[SchemaVersion]] = field(default_factory=dict)

    def latest(self, full_name: str) -> SchemaVersion:
        """The newest version of a record: what writers use and readers resolve to."""
        try:
            return self.versions[full_name][-1]
        except KeyError:
            raise KeyError(f"no schema for record {full_name!r}") from None

    def add(self, version: SchemaVersion) -> None:
        if version.fingerprint in self.by_fingerprint:
            other = self.by_fingerprint[version.fingerprint].path
            raise ValueError(f"{version.path} has the same canonical form as {other}")
        self.by_fingerprint[version.fingerprint] = version
        self.versions.setdefault(version.full_name, []).append(version)
        self.versions[version.full_name].sort(key=lambda v: v.version)


def canonical_fingerprint(parsed: Schema) -> bytes:
    """CRC-64-AVRO of the parsing canonical form, in the spec's little-endian byte order."""
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO"))


def load_schemas(directory: Path = SCHEMAS_DIR) -> SchemaSet:
    """Parse every .avsc under `directory`: shared named types first, then versioned records."""
    named: dict[str, Schema] = {}
    for path in sorted((directory / "common").glob("*.avsc")):
        parse_schema(json.loads(path.read_text()), named_schemas=named)

    schemas = SchemaSet()
    for path in sorted(directory.glob("*/*.avsc")):
        match = _VERSIONED.match(path.name)
        if path.parent.name == "common":
            continue
        if match is None:
            raise ValueError(f"{path}: record schemas are named <Name>.v<N>.avsc")
        # Each version is parsed against a copy so two versions of one name do not clash.
        parsed = parse_schema(json.loads(path.read_text()), named_schemas=dict(named), expand=True)
        if not isinstance(parsed, dict):
            raise ValueError(f"{path}: a record schema must be a JSON object")
        full_name = parsed["name"]
        if full_name.rsplit(".", 1)[-1] != match["name"]:
            raise ValueError(f"{path}: file name does not match record name {full_name}")
        schemas.add(
            SchemaVersion(
                full_name=full_name,
                version=int(match["version"]),
                parsed=parsed,
                fingerprint=canonical_fingerprint(parsed),
                path=path,
            )
        )
    return schemas
