"""The cascade-delete saga's memory in Redis: one hash per organization, of facts that
are only ever added, never changed or removed.

Fields: ``created:<license_id>`` and ``removed:<license_id>`` (value 1) for a license
seen live and seen gone, ``deleted_by`` and ``correlation_id`` (set once) for the
organization's deletion; its live licenses are the created ones not removed. Storing
adds facts (HSET, HSETNX), so storing again after a redelivery changes nothing, and a
saga worker that lost its partitions in a rebalance, storing late what its successor
has already stored, cannot take back anything the successor learned.

Saga state, not a view (read-models/README.md): replays of the views never touch it.
"""

from collections.abc import Collection, Mapping
from typing import Any

from redis.typing import EncodableT, FieldT

from ostock.sagas.cascade_delete import OrganizationMemory
from ostock.views.client import RedisClient
from ostock.views.keys import Keys
from streams.saga_reactions import Tracked

CREATED = "created:"
REMOVED = "removed:"
DELETED_BY = "deleted_by"
CORRELATION_ID = "correlation_id"


def memory_of(stored: Mapping[Any, Any]) -> OrganizationMemory:
    """The memory the stored facts (text or bytes) add up to; empty for one not seen yet."""
    fields = {_text(k): _text(v) for k, v in stored.items()}
    created = {f.removeprefix(CREATED) for f in fields if f.startswith(CREATED)}
    removed = {f.removeprefix(REMOVED) for f in fields if f.startswith(REMOVED)}
    return OrganizationMemory(
        frozenset(created - removed), fields.get(DELETED_BY), fields.get(CORRELATION_ID, "")
    )


Facts = dict[FieldT, EncodableT]


def new_facts(tracked: Tracked) -> tuple[Facts, Facts]:
    """What a batch taught about one organization: facts to add, and facts to add only
    if not already known (the deletion: a late duplicate never overwrites it)."""
    facts: Facts = {CREATED + lic: 1 for lic in tracked.seen - tracked.start.live_licenses}
    facts |= {REMOVED + lic: 1 for lic in tracked.seen - tracked.now.live_licenses}
    deletion: Facts = {}
    if tracked.now.deleted_by is not None and tracked.start.deleted_by is None:
        deletion = {DELETED_BY: tracked.now.deleted_by, CORRELATION_ID: tracked.now.correlation_id}
    return facts, deletion


class SagaMemories:
    """Loads and stores memories, many organizations per round trip."""

    def __init__(self, redis: RedisClient, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def load(self, organization_ids: Collection[str]) -> dict[str, OrganizationMemory]:
        """The memory of each organization."""
        ids = list(organization_ids)
        if not ids:
            return {}
        # A pipeline, one command per key: on Redis Cluster each organization is its own slot.
        async with self.redis.pipeline(transaction=False) as pipe:
            for organization_id in ids:
                pipe.hgetall(self.keys.saga(organization_id))
            stored = await pipe.execute()
        return {i: memory_of(s) for i, s in zip(ids, stored, strict=True)}

    async def store(self, tracked: Mapping[str, Tracked]) -> None:
        """Add what the batch taught about each organization."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for organization_id, memory in tracked.items():
                key = self.keys.saga(organization_id)
                facts, deletion = new_facts(memory)
                if facts:
                    pipe.hset(key, mapping=facts)
                for field, value in deletion.items():
                    pipe.hsetnx(key, field, value)
            if len(pipe):
                await pipe.execute()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
