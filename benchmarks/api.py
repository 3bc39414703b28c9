"""API: GET /v1/organizations/{id} at fixed concurrency, from the load generator's process.

Measured: the API process (`python -m ostock api`). Baseline: benchmarks.bare_asgi on the
same uvicorn (uvloop, httptools) doing the same Redis HGET.
"""

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.processes import settings_env, start, stop, wait_http
from ostock.auth.configured import dev_issuer
from ostock.infra.ports import free_port
from ostock.settings import Settings
from ostock.views.keys import Keys


@dataclass(frozen=True)
class Load:
    """How hard and how long one load run pushes."""

    clients: int
    seconds: float
    max_requests: int


@dataclass(frozen=True)
class Target:
    """A running server: the URL and token the load generator uses, and its pid."""

    url: str
    token: str
    pid: int


@contextmanager
def ostock_api(settings: Settings, organization_id: str, logs: Path) -> Iterator[Target]:
    """The API process on a free port, with an admin token of the development issuer."""
    port = free_port()
    env = settings_env(settings, OSTOCK_API_PORT=str(port))
    log = logs / "api.log"
    process = start(["-m", "ostock", "api"], env, log)
    try:
        wait_http(f"http://127.0.0.1:{port}/health/live", process, log)
        token = dev_issuer(settings).mint("admin", "bench", ttl_s=3600)
        url = f"http://127.0.0.1:{port}/v1/organizations/{organization_id}"
        yield Target(url, token, process.pid)
    finally:
        stop(process)


@contextmanager
def bare_api(settings: Settings, organization_id: str, logs: Path) -> Iterator[Target]:
    """benchmarks.bare_asgi under uvicorn, reading the same view."""
    port = free_port()
    key = Keys(settings.redis_prefix).organization(organization_id)
    env = settings_env(settings, OSTOCK_BENCH_KEY=key)
    args = ["-m", "uvicorn", "benchmarks.bare_asgi:app", "--host", "127.0.0.1"]
    args += ["--port", str(port), "--loop", "uvloop", "--http", "httptools"]
    args += ["--lifespan", "off", "--no-access-log", "--log-level", "warning"]
    log = logs / "bare-asgi.log"
    process = start(args, env, log)
    try:
        wait_http(f"http://127.0.0.1:{port}/", process, log)
        url = f"http://127.0.0.1:{port}/v1/organizations/{organization_id}"
        yield Target(url, "", process.pid)
    finally:
        stop(process)


def load_run(target: Target, load: Load) -> dict[str, float]:
    """One run of the load generator in its own process; its summary."""
    args = [sys.executable, "-m", "benchmarks.loadgen", target.url]
    args += ["--clients", str(load.clients), "--seconds", str(load.seconds)]
    args += ["--max-requests", str(load.max_requests), "--token", target.token]
    out = subprocess.run(args, capture_output=True, check=True, timeout=load.seconds + 60)
    result: dict[str, float] = json.loads(out.stdout)
    if result["errors"] or not result["requests"]:
        raise RuntimeError(f"{target.url}: {result}")
    return result
