"""Fetch what the local infrastructure needs, ahead of the first start.

`python -m ostock.infra.fetch` (or `ostock infra fetch`): installs redis-server
if missing and resolves the Kafka jars into the cache folder; `--with-keycloak`
adds the Keycloak distribution, `--with-monitoring` Debian's prometheus package
(promtool included), `--with-tracing` Jaeger built from its Go module; so that later
starts work offline.
"""

import sys
import time
from collections.abc import Callable, Collection
from pathlib import Path

from ostock.infra import prometheus
from ostock.infra.jaeger import ensure_binary
from ostock.infra.kafka import ensure_jars
from ostock.infra.keycloak import ensure_distribution
from ostock.infra.redis import ensure_installed
from ostock.settings import Settings


def fetch(settings: Settings, optional: Collection[str] = ()) -> None:
    """Install redis-server and resolve the Kafka jars, and the optional services named
    (ostock.infra.local.OPTIONAL), unless there."""
    print(f"redis-server: {ensure_installed()}", flush=True)
    print(f"Kafka jars: {ensure_jars(settings.cache_dir)}", flush=True)
    if "keycloak" in optional:
        _timed("Keycloak", lambda: ensure_distribution(settings.cache_dir))
    if "monitoring" in optional:
        print(f"prometheus: {prometheus.ensure_installed()}", flush=True)
        print(f"promtool: {prometheus.promtool()}", flush=True)
    if "tracing" in optional:
        _timed("Jaeger", lambda: ensure_binary(settings.cache_dir))


def _timed(name: str, ensure: Callable[[], Path]) -> None:
    """Ensure what may take minutes the first time, and say where it is and how long it took."""
    start = time.monotonic()
    where = ensure()
    print(f"{name}: {where} ({time.monotonic() - start:.1f}s)", flush=True)


if __name__ == "__main__":
    fetch(Settings(), [arg.removeprefix("--with-") for arg in sys.argv[1:]])
