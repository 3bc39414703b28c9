"""Waking readers when a view changes: one pub/sub connection shared by a whole process.

Projectors PUBLISH a view's new version on its key when they apply a write to it
(read-models/README.md). Waiters of one key share one subscription, counted: the first
waiter SUBSCRIBEs, the last one UNSUBSCRIBEs. `watch` lets a waiter in only once Redis has
confirmed the subscription, so any write after that reaches it. Every confirmation marks
the key's waiters stale, a resubscription after a reconnect included: they read the
version again, so a write published while the connection was down is not missed.

On a Redis Cluster the projectors SPUBLISH (sharded pub/sub: a message stays on its key's
shard), so a process holds one connection per primary, each SSUBSCRIBEd to the keys of
its slots (ClusterNotifications).
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import ConnectionPool, Redis, RedisCluster
from redis.exceptions import RedisError

from ostock.views.client import RedisClient

log = logging.getLogger(__name__)

FIRST_DELAY_S = 0.1
MAX_DELAY_S = 2.0
CLOSE_TIMEOUT_S = 2.0


@dataclass(eq=False)
class Waiter:
    """What one waiter has been told about its key since it joined."""

    #: Set on each notification; the waiter clears it.
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    #: The highest version published.
    published: int = 0
    #: Whether the version must be read: nothing has been, or messages may have been missed.
    stale: bool = True

    def notify(self, version: int | None) -> None:
        """A version published, or None: read it."""
        if version is None:
            self.stale = True
        else:
            self.published = max(self.published, version)
        self.changed.set()


@dataclass
class _Channel:
    """A subscribed key: confirmed once Redis says so; its waiters."""

    confirmed: asyncio.Event = field(default_factory=asyncio.Event)
    waiters: set[Waiter] = field(default_factory=set)

    def notify(self, version: int | None) -> None:
        for waiter in self.waiters:
            waiter.notify(version)


class Notifications:
    """The change notifications of many keys over one pub/sub connection; `sharded`:
    SSUBSCRIBE (to a cluster node's keys) rather than SUBSCRIBE."""

    def __init__(self, redis: Redis, sharded: bool = False) -> None:
        self._pubsub = redis.pubsub()
        self._subscribe = self._pubsub.ssubscribe if sharded else self._pubsub.subscribe
        self._unsubscribe_from = self._pubsub.sunsubscribe if sharded else self._pubsub.unsubscribe
        self._confirmation = "ssubscribe" if sharded else "subscribe"
        self._message = "smessage" if sharded else "message"
        self._channels: dict[bytes, _Channel] = {}
        # Orders SUBSCRIBE and UNSUBSCRIBE with the bookkeeping that goes with them.
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._reading = False
        self._closed = False

    @asynccontextmanager
    async def watch(self, key: str, deadline: float) -> AsyncIterator[Waiter]:
        """A Waiter told of every change of `key` from the moment Redis confirms the
        subscription. Raises TimeoutError if that is not by `deadline` (event loop time),
        a RedisError if the subscription cannot be sent."""
        name = key.encode()
        waiter = Waiter()
        channel = await self._join(name, waiter)
        try:
            async with asyncio.timeout_at(deadline):
                await channel.confirmed.wait()
            yield waiter
        finally:
            channel.waiters.discard(waiter)
            # Unsubscribed in the background: leaving never waits for Redis. A channel
            # stays until its confirmation (_on_subscribed), so that each SUBSCRIBE is
            # matched with its own confirmation, never with an older one's.
            if not channel.waiters and channel.confirmed.is_set():
                self._spawn(self._drop(name, channel))

    async def close(self) -> None:
        """Stop reading and give the connection back; waiters left time out."""
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        # Disconnecting ends a read even where redis-py swallowed the cancellation (on
        # Python 3.11, asyncio.wait_for inside redis-py can).
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        if tasks:
            await asyncio.wait(tasks, timeout=CLOSE_TIMEOUT_S)

    async def _join(self, name: bytes, waiter: Waiter) -> _Channel:
        async with self._lock:
            channel = self._channels.get(name)
            if channel is None:
                await self._subscribe(name)
                channel = self._channels[name] = _Channel()
                if not self._reading:  # the connection exists from the first subscribe on
                    self._reading = True
                    self._spawn(self._read())
            channel.waiters.add(waiter)
            return channel

    async def _drop(self, name: bytes, channel: _Channel) -> None:
        async with self._lock:
            if self._closed:
                return
            if not channel.waiters and self._channels.get(name) is channel:
                del self._channels[name]
                await self._unsubscribe(name)

    async def _unsubscribe(self, name: bytes) -> None:
        # A failed UNSUBSCRIBE is retried by _on_subscribed when a reconnect subscribes
        # the key again.
        try:
            await self._unsubscribe_from(name)
        except RedisError as error:
            log.debug("unsubscribing %r failed: %r", name, error)

    async def _on_subscribed(self, name: bytes) -> None:
        async with self._lock:
            channel = self._channels.get(name)
            if channel is None:  # subscribed again by a reconnect, no longer wanted
                await self._unsubscribe(name)
                return
            channel.confirmed.set()
            channel.notify(None)
            if not channel.waiters:
                del self._channels[name]
                await self._unsubscribe(name)

    async def _read(self) -> None:
        delay = FIRST_DELAY_S
        while not self._closed:
            try:
                message: dict[str, Any] | None = await self._pubsub.get_message(timeout=None)
                if message is not None and message["type"] == self._confirmation:
                    await self._on_subscribed(message["channel"])
                elif message is not None and message["type"] == self._message:
                    channel = self._channels.get(message["channel"])
                    if channel is not None:
                        channel.notify(_version(message["data"]))
                delay = FIRST_DELAY_S
            except Exception as error:
                if self._closed:
                    return
                # redis-py reconnects on the next read and subscribes every key again.
                log.warning("notifications: %r; reading again in %.1fs", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_DELAY_S)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class ClusterNotifications:
    """Notifications over a Redis Cluster: one sharded Notifications per primary, each on a
    connection of its own to that node; a key is watched on its slot's node."""

    def __init__(self, cluster: RedisCluster) -> None:
        self.cluster = cluster
        self._nodes: dict[str, Notifications] = {}

    def watch(self, key: str, deadline: float) -> AbstractAsyncContextManager[Waiter]:
        """As Notifications.watch, on the node that holds `key`."""
        node = self.cluster.get_node_from_key(key)
        if node is None:  # the cluster's slots are not known yet: read first
            raise RedisError(f"no node known for {key!r}")
        notifications = self._nodes.get(node.name)
        if notifications is None:
            pool = ConnectionPool(connection_class=node.connection_class, **node.connection_kwargs)
            notifications = Notifications(Redis(connection_pool=pool), sharded=True)
            self._nodes[node.name] = notifications
        return notifications.watch(key, deadline)

    async def close(self) -> None:
        for notifications in self._nodes.values():
            await notifications.close()


def notifications_of(redis: RedisClient) -> "Notifications | ClusterNotifications":
    """The notifications of `redis`'s keys: sharded per node on a cluster."""
    if isinstance(redis, RedisCluster):
        return ClusterNotifications(redis)
    return Notifications(redis)


def _version(data: bytes) -> int | None:
    """The version a message announces; None if it is not one (the waiter reads it)."""
    try:
        return int(data)
    except ValueError:
        return None
