"""Topics, a Redis and a key base of a test's own, beside the session's Kafka."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

from ostock.infra.ports import free_port
from ostock.infra.redis import RedisServer
from ostock.infra.topics import ensure_topics
from ostock.settings import Settings, Topics


@contextmanager
def isolated(
    settings: Settings, folder: Path, prefix: str, **update: Any
) -> Iterator[tuple[Settings, RedisServer]]:
    """`settings` on topics named with a tag of their own (created), a Redis server of
    their own (running while the block runs) and the key base `<prefix>-<tag>`."""
    server = RedisServer(folder / "redis", free_port())
    server.start()
    tag = uuid4().hex[:8]
    own = settings.model_copy(
        update={
            "topics": Topics(**{field: f"{name}.{tag}" for field, name in settings.topics}),
            "redis_prefix": f"{prefix}-{tag}",
            "redis_url": server.url,
            "data_dir": folder / "data",
            **update,
        }
    )
    try:
        ensure_topics(own)
        yield own, server
    finally:
        server.stop()
