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
    """One local redis-server: config, append-only data, process and log in `data_dir`/redis.

    Stopping it (SIGTERM) flushes the append-only file."""

    name = "Redis"
    start_timeout_s = START_TIMEOUT_S
    stop_timeout_s = STOP_TIMEOUT_S

    def __init__(self, data_dir: Path, port: int, acl: str | None = None, admin: str = "") -> None:
        """`acl` (an aclfile's text, ostock.infra.redis_users) selects the production
        profile; `admin` is then the password of its `admin` user."""
        folder = data_dir / "redis"
        self.acl = acl
        self.admin = admin
        self.config = folder / "redis.conf"
        self.aclfile = folder / "users.acl"
        pidfile = PidFile(folder / "redis.pid", token=str(self.config))
        super().__init__(folder, port, pidfile, folder / "redis.log")

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

    def _ready(self) -> bool:
        # Ready once it answers PING.
        secured = self.acl is not None
        client = redis.Redis(
            port=self.port,
            username="admin" if secured else None,
            password=self.admin if secured else None,
            socket_timeout=PING_TIMEOUT_S,
            socket_connect_timeout=PING_TIMEOUT_S,
        )
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
"""
