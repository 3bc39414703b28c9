"""`ostock run`: the whole system in the foreground, on local Kafka and Redis.

Starts the infrastructure unless it already runs, creates the topics, starts every
worker and the API as child processes with their logs in files, starts again any
that exits (after a pause that grows while it keeps exiting), and stops all of it on
Ctrl-C or SIGTERM (the infrastructure too, if this command started it), or when a
child keeps failing at start.
"""

import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import typer

from ostock.cli.infra import Brokers, RedisClusterSize, Scale, With, chosen, with_options
from ostock.deployables import (
    PROCESSES,
    Instance,
    instance_env,
    instance_name,
    instances,
    metrics_port,
    principal_env,
)
from ostock.infra.acls import ensure_acls
from ostock.infra.local import LocalInfra
from ostock.infra.topics import ensure_topics
from ostock.settings import Settings, settings_env

READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 20.0
#: Pause before a restart: doubled after each exit up to the cap, back to the first
#: once the child stayed up STEADY_S.
FIRST_PAUSE_S = 1.0
MAX_PAUSE_S = 30.0
STEADY_S = 60.0
#: A child that exits within EARLY_EXIT_S of its start this many times in a row
#: cannot start (bad configuration, a broken build): restarting it again is futile.
EARLY_EXIT_S = 5.0
EARLY_EXITS_MAX = 5


@dataclass
class _Child:
    """One supervised process and what its restarts need to remember."""

    instance: Instance
    log: Path
    env: dict[str, str]
    process: "subprocess.Popen[bytes]"
    started_at: float
    pause_s: float = FIRST_PAUSE_S
    early_exits: int = 0
    restart_at: float | None = None  # set while it waits out its pause

    @classmethod
    def start(cls, instance: Instance, logs: Path, env: dict[str, str]) -> "_Child":
        log = logs / f"{instance.label}.log"
        return cls(instance, log, env, _start(instance.process, log, env), time.monotonic())

    @property
    def name(self) -> str:
        return self.instance.label

    def tell(self, message: str) -> None:
        """Say `message` on the console and in the child's log, whose reader would
        otherwise see the child's output stop and start again unexplained."""
        typer.echo(f"{message} (log: {self.log})")
        with self.log.open("a") as log:
            log.write(f"{datetime.now(UTC).isoformat(timespec='seconds')} ostock run: {message}\n")


def run(
    services: With = None,
    brokers: Brokers = None,
    redis_cluster: RedisClusterSize = None,
    scale: Scale = None,
) -> None:
    """Run O-stock: Kafka (a cluster with --brokers 3), Redis (a Redis Cluster with
    --redis-cluster 3), the services, the projectors and the API; with --with monitoring a
    Prometheus scraping them all, with --with tracing a Jaeger they send their spans to;
    with --scale N, N copies of each worker that shares a group."""
    optional = chosen(services)
    settings = with_options(
        Settings(), kafka_brokers=brokers, redis_cluster=redis_cluster, scale=scale
    )
    started_at = time.monotonic()
    infra = LocalInfra.from_settings(settings)
    settings = infra.clients(settings)
    ours = not infra.status().running
    infra.up(optional)
    env = settings_env(settings)  # the options above and every Kafka node, for each child
    if "tracing" in optional and settings.tracing_endpoint is None:
        env["OSTOCK_TRACING_ENDPOINT"] = infra.jaeger.otlp_endpoint
    ensure_topics(settings)
    ensure_acls(settings)
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    children = [
        _Child.start(instance, logs, env | instance_env(settings, instance))
        for instance in instances(settings.scale)
    ]
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    failed = False
    try:
        base = f"http://{settings.api_host}:{settings.api_port}"
        ready_by = started_at + READY_TIMEOUT_S
        announced = False
        while not stopping and not failed:
            failed = any(_supervise(child) for child in children)
            if not announced and (_ready(f"{base}/health/ready") or time.monotonic() > ready_by):
                _banner(settings, infra, base, logs, time.monotonic() - started_at)
                announced = True
            time.sleep(0.2)
    finally:
        typer.echo("stopping...")
        for child in children:
            _stop(child.process)
        if ours:
            infra.down()
        typer.echo("stopped")
    if failed:
        raise typer.Exit(1)


def _supervise(child: _Child) -> bool:
    """Start `child` again once its pause is over, or begin that pause if it just
    exited; True when it keeps failing at start and the system should stop."""
    now = time.monotonic()
    if child.restart_at is not None:
        if now >= child.restart_at:
            child.process = _start(child.instance.process, child.log, child.env)
            child.started_at, child.restart_at = now, None
        return False
    code = child.process.poll()
    if code is None:
        return False
    up_s = now - child.started_at
    child.early_exits = child.early_exits + 1 if up_s < EARLY_EXIT_S else 0
    if child.early_exits >= EARLY_EXITS_MAX:
        child.tell(
            f"{child.name} exited with {code} within {EARLY_EXIT_S:.0f}s of its start "
            f"{EARLY_EXITS_MAX} times in a row: it cannot start; stopping everything"
        )
        return True
    if up_s >= STEADY_S:
        child.pause_s = FIRST_PAUSE_S
    child.restart_at = now + child.pause_s
    child.tell(
        f"{child.name} exited with {code} after {up_s:.1f}s; restarting it in {child.pause_s:.0f}s"
    )
    child.pause_s = min(child.pause_s * 2, MAX_PAUSE_S)
    return False


def _start(name: str, log: Path, base: dict[str, str]) -> "subprocess.Popen[bytes]":
    env = base | principal_env(name)
    with log.open("ab") as out:
        # Their own session: a Ctrl-C reaches only this supervisor, which then
        # stops the children in order.
        return subprocess.Popen(
            [sys.executable, "-m", "ostock", *PROCESSES[name]],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )


def _ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


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
                f"  logs      {logs}/  (Kafka: {_kafka_logs(infra)}, Redis: {infra.redis.log})",
                f"  data      {settings.data_dir}",
                *_optional_lines(infra),
                *_scale_lines(settings),
                *(
                    f"  metrics   {instance.label:<27} {_metrics_url(settings, instance)}"
                    for instance in instances(settings.scale)
                ),
            ]
        )
    )


def _kafka_logs(infra: LocalInfra) -> str:
    return ", ".join(str(node.log) for node in infra.kafka.nodes)


def _metrics_url(settings: Settings, instance: Instance) -> str:
    host = settings.api_host if instance.process == "api" else settings.metrics_host
    port = metrics_port(settings, instance.process, instance.copy)
    return f"http://{host}:{port}/metrics" if port else "a free port (its log says which)"


def _scale_lines(settings: Settings) -> list[str]:
    """The instance names of the copies, when there are several."""
    if settings.scale == 1:
        return []
    names = ", ".join(instance_name(settings, copy) for copy in range(1, settings.scale + 1))
    return [f"  scale     {settings.scale} copies of each handler, projector and the saga: {names}"]


def _optional_lines(infra: LocalInfra) -> list[str]:
    """Where the optional services that run answer."""
    lines = []
    if infra.prometheus.pid() is not None:
        lines.append(
            f"  Prometheus {infra.prometheus.url}  (alerts: {infra.prometheus.url}/alerts)"
        )
    if infra.jaeger.pid() is not None:
        lines.append(f"  Jaeger    {infra.jaeger.url}/api/traces?service=api")
    return lines
