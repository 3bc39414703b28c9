"""Reading and writing the read models: ViewWriter for projectors, ViewReader for the API."""

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Literal, cast

from redis.asyncio import Redis, RedisCluster
from redis.crc import key_slot
from redis.exceptions import ResponseError

from ostock.views.functions import APPLY, COMMAND_DECIDED, COMMAND_PENDING, load_functions
from ostock.views.keys import Keys
from ostock.views.licensing import (
    cursor_after,
    enriched,
    enrichment,
    entry_of,
    license_id_of,
    listed,
)
from ostock.views.notifications import Notifications
from ostock.views.projection import CommandStatus, Write


def slot_groups(writes: Sequence[Write]) -> list[list[Write]]:
    """Split a batch by Redis Cluster hash slot, keeping each key's writes in order.

    The keys of one write share a hash tag, so its first key stands for all of them.
    """
    groups: dict[int, list[Write]] = defaultdict(list)
    for write in writes:
        groups[key_slot(write.key.encode())].append(write)
    return list(groups.values())


class ViewWriter:
    """Applies projected writes through the library's functions, one round trip per batch."""

    def __init__(self, redis: "Redis | RedisCluster") -> None:
        self.redis = redis
        # On one Redis a whole batch is one FCALL; a cluster needs one per hash slot.
        self.by_slot = isinstance(redis, RedisCluster)

    async def apply(self, writes: Sequence[Write]) -> int:
        """Apply every write newer than what is stored, in order; return how many applied."""
        if not writes:
            return 0
        groups = slot_groups(writes) if self.by_slot else [writes]
        return sum(await self._fcalls([_apply_call(group) for group in groups]))

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


def _apply_call(writes: Sequence[Write]) -> tuple[Any, ...]:
    """One `ostock_apply` call: every write's keys, then each write's name and args."""
    keys: list[str] = []
    args: list[Any] = []
    for name, write_keys, write_args in (write.part() for write in writes):
        keys += write_keys
        args += (name, *write_args)
    return (APPLY, len(keys), *keys, *args)


#: A view a reader can wait for (ViewReader.wait_for_version).
ViewName = Literal["organization", "license", "organization_history", "license_history"]


@dataclass(frozen=True)
class Page:
    """A page of an organization's licenses."""

    #: Enriched license bodies (JSON), in index (creation) order.
    items: list[bytes]
    #: Licenses of the organization in the index.
    total: int
    #: Opaque; None on the last page.
    next_cursor: str | None


class ViewReader:
    """The API's reads, bodies returned as JSON bytes: one round trip each unless said.

    wait_for_version holds one pub/sub connection from its first wait on: close() it.
    """

    def __init__(self, redis: "Redis | RedisCluster", keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self.notifications = Notifications(redis)
        # For an organization (view or history) the aggregate is the organization.
        self._view_keys: dict[ViewName, Callable[[str, str], str]] = {
            "organization": lambda organization_id, _: keys.organization(organization_id),
            "license": keys.license,
            "organization_history": keys.history,
            "license_history": keys.history,
        }

    async def organization(self, organization_id: str) -> bytes | None:
        """The organization view, a tombstone (status "deleted") included; None if absent."""
        body = await self.redis.hget(self.keys.organization(organization_id), "body")
        return cast(bytes | None, body)

    async def organization_version(self, organization_id: str) -> int | None:
        """The version of the last event applied to the organization view; None if absent."""
        version = await self.redis.hget(self.keys.organization(organization_id), "version")
        return None if version is None else int(version)

    async def license(self, organization_id: str, license_id: str) -> bytes | None:
        """The license view enriched with its organization's name and contacts (null until
        the licensing service's copy has them), a tombstone (status "deleted") included;
        None if absent."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hget(self.keys.license(organization_id, license_id), "body")
            pipe.hget(self.keys.organization_copy(organization_id), "body")
            body, copy = await pipe.execute()
        return None if body is None else enriched(body, enrichment(copy))

    async def licenses(self, organization_id: str, cursor: str | None, limit: int) -> Page:
        """Up to `limit` licenses of an organization, enriched, in creation order, from the
        first (cursor None) or after `cursor`. Two round trips: the index, then the bodies
        and the organization's copy. ValueError on a malformed cursor or a limit below 1."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        start = b"-" if cursor is None else b"(" + entry_of(cursor)
        index = self.keys.licenses_of(organization_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zrange(index, start, b"+", bylex=True, offset=0, num=limit + 1)
            pipe.zcard(index)
            entries, total = await pipe.execute()
        page: list[bytes] = entries[:limit]
        async with self.redis.pipeline(transaction=False) as pipe:
            for entry in page:
                pipe.hget(self.keys.license(organization_id, license_id_of(entry)), "body")
            pipe.hget(self.keys.organization_copy(organization_id), "body")
            *bodies, copy = await pipe.execute()
        extra = enrichment(copy)
        # Skipped: a license deleted between the two round trips.
        items = [enriched(body, extra) for body in bodies if listed(body)]
        return Page(items, total, cursor_after(page[-1]) if len(entries) > limit else None)

    async def history(self, organization_id: str, aggregate_id: str) -> list[bytes]:
        """An aggregate's history entries (JSON), in version order; [] if none."""
        key = self.keys.history(organization_id, aggregate_id)
        return cast(list[bytes], await self.redis.zrange(key, 0, -1))

    async def version(self, view: ViewName, organization_id: str, aggregate_id: str) -> int:
        """The version `view` stands at; 0 if absent."""
        key = self._view_keys[view](organization_id, aggregate_id)
        return await self._read_version(key, view.endswith("_history"))

    async def wait_for_version(
        self,
        view: ViewName,
        organization_id: str,
        aggregate_id: str,
        min_version: int,
        timeout_s: float,
    ) -> int:
        """The version of `view` as soon as it reaches `min_version`, or where it stands
        once `timeout_s` has passed (plus at most one read). Woken by the projectors'
        PUBLISH, never polling. Raises a RedisError when Redis cannot be reached, as every
        read does."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        key = self._view_keys[view](organization_id, aggregate_id)
        return await self._wait(key, view.endswith("_history"), min_version, deadline)

    async def command(self, command_id: str) -> bytes | None:
        """The command status (pending, accepted or rejected); None if unknown or expired."""
        return cast(bytes | None, await self.redis.hget(self.keys.command(command_id), "body"))

    async def close(self) -> None:
        """Close wait_for_version's pub/sub connection; the Redis client stays the caller's."""
        await self.notifications.close()

    async def _wait(self, key: str, scored: bool, min_version: int, deadline: float) -> int:
        """The version at `key` once it reaches `min_version`, or when `deadline` (event
        loop time) passes. It reads the version once Redis has confirmed the subscription,
        so a write in between cannot go unnoticed, then takes the versions published."""
        version = await self._read_version(key, scored)
        if version >= min_version:
            return version  # the usual case: no subscription at all
        # Only waits on asyncio events are timed out: on Python 3.11, a Redis call that a
        # timeout cancels may swallow the cancellation (asyncio.wait_for inside redis-py),
        # and the wait would then never end. Each Redis call has its socket timeout.
        with suppress(TimeoutError):
            async with self.notifications.watch(key, deadline) as waiter:
                while True:
                    waiter.changed.clear()
                    if waiter.stale:  # first, and after a reconnect: only a read tells
                        waiter.stale = False
                        version = max(version, await self._read_version(key, scored))
                    version = max(version, waiter.published)
                    if version >= min_version:
                        return version
                    async with asyncio.timeout_at(deadline):
                        await waiter.changed.wait()
        return version

    async def _read_version(self, key: str, scored: bool) -> int:
        """A hash's `version`, or the top score of a sorted set scored by version."""
        if scored:
            last = await self.redis.zrange(key, -1, -1, withscores=True)
            return int(last[0][1]) if last else 0
        version = await self.redis.hget(key, "version")
        return 0 if version is None else int(version)
