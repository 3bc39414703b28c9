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

    def license(self, organization_id: str, license_id: str) -> str:
        """Hash {version, body, entry}: the license view, as projected (enriched when read),
        and its entry in licenses_of."""
        return f"{self.prefix}:lic:{{{organization_id}}}:{license_id}"

    def licenses_of(self, organization_id: str) -> str:
        """Sorted set: the organization's licenses in creation order (members only, score 0)."""
        return f"{self.prefix}:lics:{{{organization_id}}}"

    def organization_copy(self, organization_id: str) -> str:
        """Hash {version, body}: the licensing service's own copy of an organization."""
        return f"{self.prefix}:lic-org:{{{organization_id}}}"

    def history(self, organization_id: str, aggregate_id: str) -> str:
        """Sorted set: an aggregate's event history, one entry per version (the score)."""
        return f"{self.prefix}:hist:{{{organization_id}}}:{aggregate_id}"

    def saga(self, organization_id: str) -> str:
        """Hash of facts (streams.saga_memory): the cascade-delete saga's memory of one
        organization.

        Saga state, not a view: only the saga writes it, and replays never touch it.
        """
        return f"{self.prefix}:saga:{{{organization_id}}}"
