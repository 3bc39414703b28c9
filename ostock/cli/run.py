"""`ostock run`: the whole system in the foreground, on local Kafka and Redis.

Starts the infrastructure unless it already runs, creates the topics, starts every
worker and the API as child processes with their logs in files, and stops all of
it on Ctrl-C (the infrastructure too, if this command started it).
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import typer

from ostock.infra.acls import ensure_acls
from ostock.infra.local import LocalInfra
from ostock.infra.topics import ensure_topics
from ostock.settings import Settings

#: Every deployable, as `ostock` arguments.
PROCESSES: dict[str, list[str]] = {
    "organization-handler": ["worker", "handler", "organization"],
    "licensing-handler": ["worker", "handler", "licensing"],
    "organization-projector": ["worker", "projector", "organization-projector"],
    "command-status-projector": ["worker", "projector", "command-status-projector"],
    "license-projector": ["worker", "projector", "license-projector"],
    "licensing-organizations": ["worker", "projector", "licensing-organizations"],
    "cascade-delete-saga": ["worker", "projector", "cascade-delete-saga"],
    "api": ["api"],
}
#: Each process's Kafka principal and Redis user under the production profile
#: (ostock.infra.acls, ostock.infra.redis_users); the handlers use no Redis.
PRINCIPALS: dict[str, tuple[str, str | None]] = {
    "organization-handler": ("organization-service", None),
    "licensing-handler": ("licensing-service", None),
    "organization-projector": ("projector", "projector"),
    "command-status-projector": ("projector", "projector"),
    "license-projector": ("projector", "projector"),
    "licensing-organizations": ("projector", "projector"),
    "cascade-delete-saga": ("saga", "saga"),
    "api": ("api", "api"),
}
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 20.0


def run() -> None:
    """Run O-stock: Kafka, Redis, the services, the projectors and the API."""
    settings = Settings()
    started_at = time.monotonic()
    infra = LocalInfra.from_settings(settings)
    ours = not infra.status().running
    infra.up()
    ensure_topics(settings)
    ensure_acls(settings)
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    children = {
        name: _start(args, logs / f"{name}.log", PRINCIPALS[name])
        for name, args in PROCESSES.items()
    }
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        base = f"http://{settings.api_host}:{settings.api_port}"
        _wait_ready(f"{base}/health/ready", children, lambda: stopping)
        _banner(settings, infra, base, logs, time.monotonic() - started_at)
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    typer.echo(f"{name} exited with {child.returncode}; see {logs / name}.log")
                    stopping = True
            time.sleep(0.2)
    finally:
        typer.echo("stopping...")
        for child in children.values():
            _stop(child)
        if ours:
            infra.down()
        typer.echo("stopped")


def _start(
    args: list[str], log: Path, principal: tuple[str, str | None]
) -> "subprocess.Popen[bytes]":
    kafka_principal, redis_user = principal
    # Settings read them only under the secured profile; the passwords come from files.
    env = {**os.environ, "OSTOCK_KAFKA_PRINCIPAL": kafka_principal}
    if redis_user is not None:
        env["OSTOCK_REDIS_USER"] = redis_user
    with log.open("ab") as out:
        # Their own session: a Ctrl-C reaches only this supervisor, which then
        # stops the children in order.
        return subprocess.Popen(
            [sys.executable, "-m", "ostock", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )


def _wait_ready(
    url: str, children: dict[str, "subprocess.Popen[bytes]"], stopping: Callable[[], bool]
) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline and not stopping():
        if any(child.poll() is not None for child in children.values()):
            return  # the main loop reports which one
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)


def _stop(child: "subprocess.Popen[bytes]") -> None:
    if child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _banner(settings: Settings, infra: LocalInfra, base: str, logs: Path, took: float) -> None:
    typer.echo(
        "\n".join(
            [
                f"O-stock is running (ready in {took:.1f}s). Ctrl-C stops it.",
                f"  API       {base}/v1/organizations",
                f"  docs      {base}/docs",
                f"  health    {base}/health/ready",
                f"  Kafka     {settings.kafka_bootstrap}",
                f"  Redis     {settings.redis_url}",
                f"  logs      {logs}/  (Kafka: {infra.kafka.log}, Redis: {infra.redis.log})",
                f"  data      {settings.data_dir}",
            ]
        )
    )
