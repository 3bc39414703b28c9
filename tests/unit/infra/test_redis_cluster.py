"""How `ostock infra` lays a Redis Cluster out (no process started): a node per master,
each with a folder, a port and a bus port of its own, in cluster mode."""

from pathlib import Path

from ostock.infra.local import LocalInfra
from ostock.infra.redis import RedisServer
from ostock.infra.redis_cluster import RedisCluster


def test_a_cluster_of_three_masters_takes_the_redis_port_and_the_next_two(tmp_path: Path) -> None:
    infra = LocalInfra(tmp_path, tmp_path, 1, 2, 30020, redis_cluster=3)

    assert isinstance(infra.redis, RedisCluster)
    nodes = infra.redis.nodes
    assert [node.port for node in nodes] == [30020, 30021, 30022]
    assert [node.cluster_port for node in nodes] == [40020, 40021, 40022]
    assert len({node.dir for node in nodes}) == 3
    assert infra.redis.url == "redis://127.0.0.1:30020/0"
    listed = infra.status().services[1:]
    assert [(status.name, status.address) for status in listed] == [
        ("redis-0", "127.0.0.1:30020"),
        ("redis-1", "127.0.0.1:30021"),
        ("redis-2", "127.0.0.1:30022"),
    ]


def test_without_a_cluster_it_is_one_redis(tmp_path: Path) -> None:
    infra = LocalInfra(tmp_path, tmp_path, 1, 2, 30020)

    assert isinstance(infra.redis, RedisServer)
    assert infra.redis.cluster_port is None
