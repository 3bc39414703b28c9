"""Reading and writing the read models: ViewWriter for projectors, ViewReader for the API."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, cast

from redis.asyncio import Redis, RedisCluster
from redis.crc import key_slot
from redis.exceptions import ResponseError

from ostock.views.functions import (
    APPLY_VIEWS,
    COMMAND_DECIDED,
    COMMAND_PENDING,
    load_functions,
)
from ostock.views.keys import Keys
from ostock.views.projection import CommandStatus, ViewUpdate


def slot_groups(views: Sequence[ViewUpdate]) -> list[list[ViewUpdate]]:
    """Split a batch by Redis Cluster hash slot, keeping each view's updates in order."""
    groups: dict[int, list[ViewUpdate]] = defaultdict(list)
    for view in views:
        groups[key_slot(view.key.encode())].append(view)
    return list(groups.values())


class ViewWriter:
    """Applies projected writes through the library's functions, one round trip per batch."""

    def __init__(self, redis: "Redis | RedisCluster") -> None:
        self.redis = redis
        # On one Redis a whole batch is one FCALL; a cluster needs one per hash slot.
        self.by_slot = isinstance(redis, RedisCluster)

    async def apply_views(self, views: Sequence[ViewUpdate]) -> int:
        """Apply every view newer than the stored one; return how many were applied."""
        if not views:
            return 0
        groups = slot_groups(views) if self.by_slot else [views]
        calls = [(APPLY_VIEWS, len(group), *_keys_then_args(group)) for group in groups]
        return sum(await self._fcalls(calls))

    async def command_statuses(self, statuses: Iterable[CommandStatus]) -> None:
        """Mark commands pending (unless decided) or decided (always)."""
        calls = [
            (COMMAND_PENDING, 1, s.key, s.body, s.expire_at)
            if s.state == "pending"
            else (COMMAND_DECIDED, 1, s.key, s.state, s.body, s.expire_at)
            for s in statuses
        ]
        if calls:
            await self._fcalls(calls)

    async def _fcalls(self, calls: Sequence[tuple[Any, ...]]) -> list[int]:
        try:
            return await self._pipeline(calls)
        except ResponseError as error:
            # A Redis that lost its data (or a fresh one) lost the library too.
            if "Function not found" not in str(error):
                raise
            await load_functions(self.redis)
            return await self._pipeline(calls)

    async def _pipeline(self, calls: Sequence[tuple[Any, ...]]) -> list[int]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for function, numkeys, *keys_and_args in calls:
                pipe.fcall(function, numkeys, *keys_and_args)
            return await pipe.execute()


def _keys_then_args(views: Sequence[ViewUpdate]) -> list[Any]:
    keys_and_args: list[Any] = [view.key for view in views]
    for view in views:
        keys_and_args += (view.version, view.body)
    return keys_and_args


class ViewReader:
    """The API's reads: one HGET each, the body returned as stored (JSON bytes)."""

    def __init__(self, redis: "Redis | RedisCluster", keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def organization(self, organization_id: str) -> bytes | None:
        """The organization view, a tombstone (status "deleted") included; None if absent."""
        body = await self.redis.hget(self.keys.organization(organization_id), "body")
        return cast(bytes | None, body)

    async def organization_version(self, organization_id: str) -> int | None:
        """The version of the last event applied to the organization view; None if absent."""
        version = await self.redis.hget(self.keys.organization(organization_id), "version")
        return None if version is None else int(version)

    async def command(self, command_id: str) -> bytes | None:
        """The command status (pending, accepted or rejected); None if unknown or expired."""
        return cast(bytes | None, await self.redis.hget(self.keys.command(command_id), "body"))
