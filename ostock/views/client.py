"""The Redis client of the workers and the CLI (projectors, the saga, replay): logged in
as this process's Redis user, every call bounded. The API's own client, with a deadline
per call and a circuit breaker, is api/redis_client.py."""

from redis.asyncio import Redis

from ostock.credentials import redis_login
from ostock.settings import Settings


def redis_client(settings: Settings) -> Redis:
    """A client logged in as this process's Redis user, every call bounded."""
    username, password = redis_login(settings)
    return Redis.from_url(
        settings.redis_url,
        username=username,
        password=password,
        socket_timeout=settings.redis_timeout_s,
        socket_connect_timeout=settings.redis_timeout_s,
    )
