"""The Redis key layout of every read model; read-models/README.md documents it.

A read model's keys live in one of its generations: ``<base>:<generation>:<key>``. The
projectors name keys within a generation (the functions below) and ostock.lua puts
them under the generations the model is written to (the live one, and during a replay
the one being built); readers resolve them with Keys. Each key carries its
organization's (or command's) id as a Redis Cluster hash tag ``{...}``.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

LAYOUT_VERSION = 2

#: The generation of a read model that no replay has replaced yet.
FIRST_GENERATION = "g0"

ORGANIZATIONS = "organizations"
LICENSES = "licenses"
ORGANIZATION_COPIES = "organization-copies"

#: Each read model and the key families (the first part of a key) it owns.
MODELS: Mapping[str, tuple[str, ...]] = {
    ORGANIZATIONS: ("org", "org-hist"),
    LICENSES: ("lic", "lics", "lic-hist"),
    ORGANIZATION_COPIES: ("lic-org",),
}


def organization(organization_id: str) -> str:
    """Hash {version, body}: the organization view."""
    return f"org:{{{organization_id}}}"


def organization_history(organization_id: str) -> str:
    """Sorted set: an organization's event history, one entry per version (the score)."""
    return f"org-hist:{{{organization_id}}}"


def license(organization_id: str, license_id: str) -> str:
    """Hash {version, body, entry}: the license view, as projected (enriched when read),
    and its entry in licenses_of."""
    return f"lic:{{{organization_id}}}:{license_id}"


def licenses_of(organization_id: str) -> str:
    """Sorted set: the organization's licenses in creation order (members only, score 0)."""
    return f"lics:{{{organization_id}}}"


def license_history(organization_id: str, license_id: str) -> str:
    """Sorted set: a license's event history, one entry per version (the score)."""
    return f"lic-hist:{{{organization_id}}}:{license_id}"


def organization_copy(organization_id: str) -> str:
    """Hash {version, body}: the licensing service's own copy of an organization."""
    return f"lic-org:{{{organization_id}}}"


def generations_key(base: str) -> str:
    """Hash: the readers' record: each read model's live generation, and those being built
    or retired. A replay switches it after every shard's record (shard_generations_key)."""
    return f"{base}:generations"


#: Redis Cluster's slots.
SLOTS = range(REDIS_CLUSTER_HASH_SLOTS)


@cache
def slot_tags() -> tuple[str, ...]:
    """For each slot, the shortest hash tag (a number) whose key slot it is."""
    tags: dict[int, str] = {}
    candidate = 0
    while len(tags) < REDIS_CLUSTER_HASH_SLOTS:
        tag = str(candidate)
        tags.setdefault(key_slot(tag.encode()), tag)
        candidate += 1
    return tuple(tags[slot] for slot in SLOTS)


def slot_of(key: str) -> int:
    """The slot of `key`: its hash tag's."""
    return key_slot(key.encode())


def shard_generations_key(base: str, shard: str) -> str:
    """Hash: the generations record of the shard tagged `shard` (ostock.views.shards),
    which the functions writing there read: each model's live, building and retiring
    generation there, and the sources handed over (read-models/README.md, "Generations")."""
    return f"{base}:generations:{{{shard}}}"


def offsets_key(base: str, generation: str, model: str, shard: str) -> str:
    """Hash: the offset of the last event applied to `model`'s `generation` in the shard
    tagged `shard`, from each source."""
    return f"{base}:{generation}:offsets:{model}:{{{shard}}}"


def snapshots_key(base: str) -> str:
    """Hash: each snapshot's name and what it holds (JSON)."""
    return f"{base}:snapshots"


#: What a snapshot's name may be: it becomes part of its keys.
SNAPSHOT_NAME = r"^[a-z0-9][a-z0-9-]{0,62}$"


def snapshot_generation(name: str) -> str:
    """The generation a snapshot's views live in."""
    return f"snap-{name}"


@dataclass(frozen=True)
class Keys:
    """Full keys under `base`, each read model's in the generation `generations` names
    (FIRST_GENERATION when it names none)."""

    base: str
    generations: Mapping[str, str] = field(default_factory=dict)

    def under(self, model: str, key: str) -> str:
        """`key` (a key within a generation) in `model`'s generation."""
        return f"{self.base}:{self.generations.get(model, FIRST_GENERATION)}:{key}"

    def organization(self, organization_id: str) -> str:
        return self.under(ORGANIZATIONS, organization(organization_id))

    def organization_history(self, organization_id: str) -> str:
        return self.under(ORGANIZATIONS, organization_history(organization_id))

    def license(self, organization_id: str, license_id: str) -> str:
        return self.under(LICENSES, license(organization_id, license_id))

    def licenses_of(self, organization_id: str) -> str:
        return self.under(LICENSES, licenses_of(organization_id))

    def license_history(self, organization_id: str, license_id: str) -> str:
        return self.under(LICENSES, license_history(organization_id, license_id))

    def organization_copy(self, organization_id: str) -> str:
        return self.under(ORGANIZATION_COPIES, organization_copy(organization_id))

    def command(self, command_id: str) -> str:
        """Hash {state, body}: the status of one command (not a replayed view: no
        generation)."""
        return f"{self.base}:cmd:{{{command_id}}}"

    def saga(self, organization_id: str) -> str:
        """Hash of facts (streams.saga_memory): the cascade-delete saga's memory of one
        organization.

        Saga state, not a view: only the saga writes it, and replays never touch it.
        """
        return f"{self.base}:saga:{{{organization_id}}}"
