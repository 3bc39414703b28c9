"""Topics, a Redis and a key base of a test's own, beside the session's Kafka; or a
Kafka and a Redis of its own, for tests that stop them."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

from ostock.infra.local import LocalInfra
from ostock.infra.ports import free_port, free_port_block
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


@contextmanager
def local_infra(folder: Path, brokers: int = 1) -> Iterator[LocalInfra]:
    """A Kafka of `brokers` nodes and a Redis on free ports, with their data in `folder`,
    running while the block runs."""
    local = LocalInfra(
        data_dir=folder,
        cache_dir=Settings().cache_dir,  # the Kafka jars, resolved once per machine
        kafka_port=free_port() if brokers == 1 else free_port_block(2 * brokers),
        controller_port=free_port(),
        redis_port=free_port(),
        brokers=brokers,
    )
    local.up()
    try:
        yield local
    finally:
        local.down()
