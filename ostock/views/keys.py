"""The Redis key layout of every read model; read-models/README.md documents it.

Each key carries its organization's (or command's) id as a Redis Cluster hash tag
``{...}`` so every key of one call hashes to the same slot.
"""

from dataclasses import dataclass

LAYOUT_VERSION = 1


@dataclass(frozen=True)
class Keys:
    """Key builders under one prefix (the live prefix, or a replay's fresh one)."""

    prefix: str

    def organization(self, organization_id: str) -> str:
        """Hash {version, body}: the organization view."""
        return f"{self.prefix}:org:{{{organization_id}}}"

    def command(self, command_id: str) -> str:
        """Hash {state, body}: the status of one command."""
        return f"{self.prefix}:cmd:{{{command_id}}}"
