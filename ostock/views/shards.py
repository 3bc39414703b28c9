"""The read side's unit of consistency, a shard: a hash slot on a Redis Cluster, the whole
database on one Redis.

Each shard has a generations record, ``<base>:generations:{<tag>}``, and per generation
and model an offsets record (ostock.views.keys), and a Redis Function touches the keys of
one shard only (read-models/README.md, "Generations"). A cluster refuses keys of several
slots in one call, so there a shard is a slot; one Redis has one shard, so a batch's
generations and offsets are read and written once, and a replay's begin, handover, switch
and end change one record, not one per slot.
"""

from dataclasses import dataclass

from redis.asyncio import RedisCluster

from ostock.views.client import RedisClient
from ostock.views.keys import slot_of, slot_tags

#: The tag of one Redis's one shard (a cluster's tags are numbers).
ONE_REDIS = "all"


@dataclass(frozen=True)
class Shards:
    """The shards of one Redis (`cluster` False) or of a Redis Cluster, each named by its
    hash tag."""

    cluster: bool

    @property
    def tags(self) -> tuple[str, ...]:
        """Every shard's tag."""
        return slot_tags() if self.cluster else (ONE_REDIS,)

    def of(self, key: str) -> str:
        """The tag of the shard `key` (a key within a generation) is in."""
        return slot_tags()[slot_of(key)] if self.cluster else ONE_REDIS


def shards_of(redis: RedisClient) -> Shards:
    """The shards of the Redis `redis` is a client of."""
    return Shards(isinstance(redis, RedisCluster))
