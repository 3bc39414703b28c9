"""Reading the read models: the API's ViewReader."""

import asyncio
from contextlib import suppress
from dataclasses import dataclass
from typing import Literal, cast

from ostock.views.client import RedisClient
from ostock.views.generations import FixedKeys, KeysSource, snapshot_keys
from ostock.views.keys import Keys
from ostock.views.licensing import (
    cursor_after,
    enriched,
    enrichment,
    entry_of,
    license_id_of,
    listed,
)
from ostock.views.notifications import ClusterNotifications, Notifications, notifications_of

#: A view a reader can wait for (ViewReader.wait_for_version).
ViewName = Literal["organization", "license", "organization_history", "license_history"]


def _view_key(keys: Keys, view: ViewName, organization_id: str, aggregate_id: str) -> str:
    """The key of `view`; for an organization (view or history) the aggregate is the
    organization."""
    match view:
        case "organization":
            return keys.organization(organization_id)
        case "license":
            return keys.license(organization_id, aggregate_id)
        case "organization_history":
            return keys.organization_history(organization_id)
        case "license_history":
            return keys.license_history(organization_id, aggregate_id)


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

    def __init__(
        self,
        redis: RedisClient,
        source: KeysSource,
        notifications: Notifications | ClusterNotifications | None = None,
    ) -> None:
        self.redis = redis
        self.source = source
        self.notifications = notifications or notifications_of(redis)

    async def snapshot(self, name: str) -> "ViewReader | None":
        """A reader of snapshot `name` (ostock replay --until); None if there is none."""
        keys = await snapshot_keys(self.redis, (await self.source.keys()).base, name)
        if keys is None:
            return None
        return ViewReader(self.redis, FixedKeys(keys), self.notifications)

    async def organization(self, organization_id: str) -> bytes | None:
        """The organization view, a tombstone (status "deleted") included; None if absent."""
        keys = await self.source.keys()
        body = await self.redis.hget(keys.organization(organization_id), "body")
        return cast(bytes | None, body)

    async def organization_version(self, organization_id: str) -> int | None:
        """The version of the last event applied to the organization view; None if absent."""
        keys = await self.source.keys()
        version = await self.redis.hget(keys.organization(organization_id), "version")
        return None if version is None else int(version)

    async def license(self, organization_id: str, license_id: str) -> bytes | None:
        """The license view enriched with its organization's name and contacts (null until
        the licensing service's copy has them), a tombstone (status "deleted") included;
        None if absent."""
        keys = await self.source.keys()
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hget(keys.license(organization_id, license_id), "body")
            pipe.hget(keys.organization_copy(organization_id), "body")
            body, copy = await pipe.execute()
        return None if body is None else enriched(body, enrichment(copy))

    async def licenses(self, organization_id: str, cursor: str | None, limit: int) -> Page:
        """Up to `limit` licenses of an organization, enriched, in creation order, from the
        first (cursor None) or after `cursor`. Two round trips: the index, then the bodies
        and the organization's copy. ValueError on a malformed cursor or a limit below 1."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        start = b"-" if cursor is None else b"(" + entry_of(cursor)
        keys = await self.source.keys()
        index = keys.licenses_of(organization_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zrange(index, start, b"+", bylex=True, offset=0, num=limit + 1)
            pipe.zcard(index)
            entries, total = await pipe.execute()
        page: list[bytes] = entries[:limit]
        async with self.redis.pipeline(transaction=False) as pipe:
            for entry in page:
                pipe.hget(keys.license(organization_id, license_id_of(entry)), "body")
            pipe.hget(keys.organization_copy(organization_id), "body")
            *bodies, copy = await pipe.execute()
        extra = enrichment(copy)
        # Skipped: a license deleted between the two round trips.
        items = [enriched(body, extra) for body in bodies if listed(body)]
        return Page(items, total, cursor_after(page[-1]) if len(entries) > limit else None)

    async def history(self, organization_id: str, aggregate_id: str) -> list[bytes]:
        """An aggregate's history entries (JSON), in version order; [] if none."""
        view: ViewName = (
            "organization_history" if aggregate_id == organization_id else "license_history"
        )
        key = _view_key(await self.source.keys(), view, organization_id, aggregate_id)
        return cast(list[bytes], await self.redis.zrange(key, 0, -1))

    async def version(self, view: ViewName, organization_id: str, aggregate_id: str) -> int:
        """The version `view` stands at; 0 if absent."""
        key = _view_key(await self.source.keys(), view, organization_id, aggregate_id)
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
        key = _view_key(await self.source.keys(), view, organization_id, aggregate_id)
        return await self._wait(key, view.endswith("_history"), min_version, deadline)

    async def command(self, command_id: str) -> bytes | None:
        """The command status (pending, accepted or rejected); None if unknown or expired."""
        keys = await self.source.keys()
        return cast(bytes | None, await self.redis.hget(keys.command(command_id), "body"))

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
