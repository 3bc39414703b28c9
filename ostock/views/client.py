"""The Redis client of the workers and the CLI (projectors, the saga, replay): logged in
as this process's Redis user, every call bounded. The API's own client, with a deadline
per call and a circuit breaker, is api/redis_client.py.

`settings.redis_url` names a Redis or any node of a Redis Cluster: which one, the server
says (its HELLO reply's `mode`), asked once per URL when the first client is built. On a
cluster the client is redis-py's RedisCluster, which finds the other nodes from that one,
sends each command to its key's node and splits a pipeline by node. A server that does
not answer then is taken for one Redis, and asked again by the next client built: a
process started while a cluster is down must be started again (`ostock run` does).
"""

import logging
from functools import cache
from typing import Any

import redis
from redis.asyncio import Redis, RedisCluster

from ostock.credentials import redis_login
from ostock.settings import Settings

log = logging.getLogger(__name__)

#: A client of one Redis or of a Redis Cluster: the views' code takes either.
RedisClient = Redis | RedisCluster


def redis_client(settings: Settings) -> RedisClient:
    """A client logged in as this process's Redis user, every call bounded."""
    username, password = redis_login(settings)
    options: dict[str, Any] = {
        "username": username,
        "password": password,
        "socket_timeout": settings.redis_timeout_s,
        "socket_connect_timeout": settings.redis_timeout_s,
    }
    if names_cluster(settings):
        return RedisCluster.from_url(settings.redis_url, **options)
    return Redis.from_url(settings.redis_url, **options)


def names_cluster(settings: Settings) -> bool:
    """Whether `settings.redis_url` names a node of a Redis Cluster (asked once per URL;
    False while it cannot be asked)."""
    try:
        return _cluster_mode(settings.redis_url, *redis_login(settings), settings.redis_timeout_s)
    except redis.RedisError as error:
        log.warning(
            "Redis at %s did not say whether it is a cluster: %r", settings.redis_url, error
        )
        return False


@cache
def _cluster_mode(url: str, username: str | None, password: str | None, timeout_s: float) -> bool:
    # HELLO is a connection command: every Redis user may send it.
    client = redis.Redis.from_url(
        url,
        username=username,
        password=password,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
    )
    try:
        hello = client.execute_command("HELLO", 2)  # type: ignore[no-untyped-call]
    finally:
        client.close()
    fields = dict(zip(hello[::2], hello[1::2], strict=True))
    return bool(fields[b"mode"] == b"cluster")


def publish_command(client: RedisClient) -> str:
    """How ostock.lua announces a change through `client`: sharded pub/sub on a cluster,
    so a message goes to its key's shard only (ostock.views.notifications)."""
    return "SPUBLISH" if isinstance(client, RedisCluster) else "PUBLISH"
