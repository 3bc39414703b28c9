"""Redis from Debian's package as a local process, durable through an append-only file."""

from pathlib import Path

import redis

from ostock.infra.debian import ensure_program
from ostock.infra.process import Launch, LocalService, PidFile

START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 20.0
PING_TIMEOUT_S = 1.0


def ensure_installed() -> str:
    """Return the path of redis-server, installing Debian's package if it is missing."""
    return ensure_program("redis-server", "redis-server")


class RedisServer(LocalService):
    """One local redis-server: config, append-only data, process and log in
    `data_dir`/`folder` (`redis`); with `cluster_port`, a Redis Cluster node whose bus
    listens there (ostock.infra.redis_cluster).

    Stopping it (SIGTERM) flushes the append-only file."""

    name = "Redis"
    start_timeout_s = START_TIMEOUT_S
    stop_timeout_s = STOP_TIMEOUT_S

    def __init__(
        self,
        data_dir: Path,
        port: int,
        acl: str | None = None,
        admin: str = "",
        folder: str = "redis",
        cluster_port: int | None = None,
    ) -> None:
        """`acl` (an aclfile's text, ostock.infra.redis_users) selects the production
        profile; `admin` is then the password of its `admin` user."""
        self.cluster_port = cluster_port
        self.acl = acl
        self.admin = admin
        home = data_dir / folder
        self.config = home / "redis.conf"
        self.aclfile = home / "users.acl"
        pidfile = PidFile(home / "redis.pid", token=str(self.config))
        super().__init__(home, port, pidfile, home / "redis.log")

    @property
    def url(self) -> str:
        """The redis:// URL clients connect to."""
        return f"redis://{self.address}/0"

    def _prepare(self) -> Launch:
        server = ensure_installed()
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.acl is not None:
            self.aclfile.touch(mode=0o600)
            self.aclfile.chmod(0o600)  # it holds passwords
            self.aclfile.write_text(self.acl)
        self.config.write_text(self._config())
        return Launch([server, str(self.config)])

    def client(self) -> redis.Redis:
        """A client of this server alone, as its admin, each call bounded: for probes."""
        secured = self.acl is not None
        return redis.Redis(
            port=self.port,
            username="admin" if secured else None,
            password=self.admin if secured else None,
            socket_timeout=PING_TIMEOUT_S,
            socket_connect_timeout=PING_TIMEOUT_S,
        )

    def _ready(self) -> bool:
        # Ready once it answers PING.
        client = self.client()
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def _config(self) -> str:
        return f"""\
# Written by ostock.infra.redis on every start; edit the code, not this file.
bind 127.0.0.1
port {self.port}
dir "{self.dir}"
daemonize no
# Log to stdout, which the launcher sends to redis.log.
logfile ""
# Read models survive a restart: the append-only file, fsynced every second.
appendonly yes
appendfsync everysec
save ""
# The config path in the process title is how a pid file is checked to be ours.
proc-title-template "{{title}} {{listen-addr}} {{config-file}}"
{f'aclfile "{self.aclfile}"' if self.acl is not None else ""}
{self._cluster_config()}
"""

    def _cluster_config(self) -> str:
        if self.cluster_port is None:
            return ""
        # nodes.conf is Redis's own record of the cluster, kept in the node's folder.
        return f"""\
cluster-enabled yes
cluster-port {self.cluster_port}
cluster-config-file "{self.dir / "nodes.conf"}"
cluster-node-timeout 5000
"""
