"""A local Redis Cluster: N masters, each a RedisServer in cluster mode with a folder, port,
log and append-only file of its own; created once with `redis-cli --cluster create`."""

import os
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import redis

from ostock.infra.debian import ensure_program
from ostock.infra.process import POLL_S
from ostock.infra.redis import START_TIMEOUT_S, RedisServer

CREATE_TIMEOUT_S = 60.0


class RedisCluster:
    """Masters on `ports` (their cluster buses on `bus_ports`), no replicas, their files
    in `data_dir`/redis-cluster/node-<i>. `acl` and `admin` as for RedisServer: every
    node gets the same users."""

    name = "Redis Cluster"

    def __init__(
        self,
        data_dir: Path,
        ports: Sequence[int],
        bus_ports: Sequence[int],
        acl: str | None = None,
        admin: str = "",
    ) -> None:
        self.nodes = [
            RedisServer(data_dir, port, acl, admin, f"redis-cluster/node-{i}", bus)
            for i, (port, bus) in enumerate(zip(ports, bus_ports, strict=True))
        ]
        self.admin = admin if acl is not None else None
        self.log = data_dir / "redis-cluster"  # node-<i>/redis.log

    @property
    def port(self) -> int:
        """Its first node's port."""
        return self.nodes[0].port

    def pid(self) -> int | None:
        """Its first node's pid while every node runs; else None."""
        pids = [node.pid() for node in self.nodes]
        return None if None in pids else pids[0]

    @property
    def url(self) -> str:
        """The redis:// URL of its first node: clients discover the others from it."""
        return self.nodes[0].url

    def start(self) -> None:
        """Start every node (reusing running ones), create the cluster unless it exists,
        and return once every node says cluster_state:ok."""
        for node in self.nodes:
            node.start()
        if not self._created():
            self._create()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not all(_info(node).get("cluster_state") == "ok" for node in self.nodes):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} not ok after {START_TIMEOUT_S:.0f}s")
            time.sleep(POLL_S)
        print(f"{self.name} ok on {', '.join(n.address for n in self.nodes)}", flush=True)

    def stop(self) -> None:
        """Stop every node; their data and the cluster's layout stay."""
        for node in self.nodes:
            node.stop()

    def _created(self) -> bool:
        return _info(self.nodes[0]).get("cluster_slots_assigned") == "16384"

    def _create(self) -> None:
        cli = ensure_program("redis-cli", "redis-tools")
        command = [cli, "--cluster", "create", *(node.address for node in self.nodes)]
        command += ["--cluster-replicas", "0", "--cluster-yes"]
        environment = dict(os.environ)
        if self.admin is not None:
            command += ["--user", "admin"]
            environment["REDISCLI_AUTH"] = self.admin  # not on the command line
        subprocess.run(
            command, check=True, timeout=CREATE_TIMEOUT_S, env=environment, capture_output=True
        )


def _info(node: RedisServer) -> dict[str, str]:
    """CLUSTER INFO of one node as fields; empty if it does not answer."""
    client = node.client()
    try:
        info = client.execute_command("CLUSTER INFO")  # type: ignore[no-untyped-call]
    except redis.RedisError:
        return {}
    finally:
        client.close()
    return {str(field): str(value) for field, value in info.items()}
