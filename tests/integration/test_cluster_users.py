"""The production profile's Redis ACL users on a Redis Cluster: every node has them, the
projector writes through the functions (SPUBLISH included) and the API reads and waits
on sharded notifications, each as its own user."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import redis
from pydantic import SecretStr

from ostock.infra.ports import free_port
from ostock.infra.redis_cluster import RedisCluster
from ostock.infra.redis_users import aclfile
from ostock.settings import Settings
from ostock.views import keys
from ostock.views.client import redis_client
from ostock.views.functions import load_functions
from ostock.views.generations import FixedKeys
from ostock.views.projection import Projected, ViewUpdate
from ostock.views.reader import ViewReader
from ostock.views.writer import ViewWriter

pytestmark = pytest.mark.integration

PREFIX = "ostock"
PASSWORDS = {"admin": "admin-pw", "api": "api-pw", "projector": "projector-pw", "saga": "saga-pw"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    ports = [free_port() for _ in range(6)]
    acl = aclfile(PASSWORDS, PREFIX)
    folder = Path(tmp_path_factory.mktemp("secured-cluster"))
    secured = RedisCluster(folder, ports[:3], ports[3:], acl, PASSWORDS["admin"])
    secured.start()
    yield secured
    secured.stop()


def as_user(cluster: RedisCluster, user: str) -> Settings:
    return Settings(
        redis_url=cluster.url,
        redis_security="acl",
        redis_user=user,
        redis_password=SecretStr(PASSWORDS[user]),
        redis_prefix=PREFIX,
    )


async def test_the_projector_writes_and_the_api_reads_and_waits_as_their_users(
    cluster: RedisCluster,
) -> None:
    projector = redis_client(as_user(cluster, "projector"))
    api = redis_client(as_user(cluster, "api"))
    reader = ViewReader(api, FixedKeys(keys.Keys(PREFIX)))
    try:
        await load_functions(projector)
        waiting = asyncio.create_task(reader.wait_for_version("organization", "a", "a", 1, 5))
        view = ViewUpdate(keys.organization("a"), 1, orjson.dumps({"name": "Acme"}))
        await asyncio.sleep(0.5)  # the API's SSUBSCRIBE as its user (a refusal ends the wait)
        assert not waiting.done()
        applied = await ViewWriter(projector, PREFIX).project(
            keys.ORGANIZATIONS, [Projected("events:0", 0, (view,))]
        )

        assert applied == 1
        assert await waiting == 1  # woken by the function's SPUBLISH
        assert await reader.organization("a") == orjson.dumps({"name": "Acme"})
        with pytest.raises(redis.exceptions.NoPermissionError):
            await api.hset(keys.Keys(PREFIX).organization("a"), "body", b"forged")
    finally:
        await reader.close()
        await api.aclose()
        await projector.aclose()
