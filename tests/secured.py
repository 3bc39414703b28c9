"""A Kafka and a Redis of their own in the production profile, for the tests of least
privilege: SCRAM logins and ACLs on the broker, ACL users on Redis."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ostock.infra.acls import ensure_acls
from ostock.infra.local import LocalInfra
from ostock.infra.ports import free_port
from ostock.infra.topics import ensure_topics
from ostock.settings import Settings


@contextmanager
def secured_infra(data_dir: Path) -> Iterator[Settings]:
    """Settings (as the admin) of a secured Kafka and Redis on free ports, up with the
    project's topics and ACLs while the block runs."""
    settings = Settings(
        data_dir=data_dir,
        kafka_bootstrap=f"127.0.0.1:{free_port()}",
        kafka_controller_port=free_port(),
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        kafka_security="sasl_scram",
        redis_security="acl",
        topic_partitions=1,
    )
    local = LocalInfra.from_settings(settings)
    try:
        local.up()
        ensure_topics(settings)
        ensure_acls(settings)
        yield settings
    finally:
        local.down()
