"""Running O-stock's deployables as real processes for integration tests."""

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ostock.settings import Settings


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment that makes a child process build these same settings."""
    return {
        **os.environ,
        "OSTOCK_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "OSTOCK_REDIS_URL": settings.redis_url,
        "OSTOCK_TOPIC_PARTITIONS": str(settings.topic_partitions),
        "OSTOCK_REDIS_PREFIX": settings.redis_prefix,
        "OSTOCK_DATA_DIR": str(settings.data_dir),
        "OSTOCK_API_PORT": str(settings.api_port),
        "OSTOCK_CONFIG_DIR": str(settings.config_dir),
        "OSTOCK_PROFILE": settings.profile,
        "OSTOCK_AUTH_DEV_ISSUER": str(settings.auth_dev_issuer).lower(),
        "OSTOCK_AUTH_ISSUER": settings.auth_issuer,
        "OSTOCK_AUTH_AUDIENCE": settings.auth_audience,
        "OSTOCK_AUTH_CLIENT": settings.auth_client,
        **({"OSTOCK_AUTH_JWKS_URL": settings.auth_jwks_url} if settings.auth_jwks_url else {}),
        **{f"OSTOCK_TOPICS__{field.upper()}": name for field, name in settings.topics},
    }


@dataclass
class Worker:
    """One `ostock ...` process with its output in a log file."""

    args: list[str]
    settings: Settings
    log: Path
    process: "subprocess.Popen[bytes] | None" = field(default=None)

    def start(self) -> "Worker":
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ostock", *self.args],
                env=settings_env(self.settings),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout_s: float = 20) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, as when a machine dies."""
        self.stop(signal.SIGKILL)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")
