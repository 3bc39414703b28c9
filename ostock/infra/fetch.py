"""Fetch what the local infrastructure needs, ahead of the first start.

`python -m ostock.infra.fetch` (or `ostock infra fetch`): installs redis-server
if missing and resolves the Kafka jars (and, with `--with-keycloak`, the
Keycloak distribution; with `--with-tracing`, builds Jaeger) into the cache folder,
so that later starts work offline.
"""

import sys
import time

from ostock.infra.jaeger import ensure_binary
from ostock.infra.kafka import ensure_jars
from ostock.infra.keycloak import ensure_distribution
from ostock.infra.redis import ensure_installed
from ostock.settings import Settings


def fetch(settings: Settings, keycloak: bool = False, tracing: bool = False) -> None:
    """Install redis-server and resolve the Kafka jars (and Keycloak, Jaeger if asked)
    unless there."""
    print(f"redis-server: {ensure_installed()}", flush=True)
    print(f"Kafka jars: {ensure_jars(settings.cache_dir)}", flush=True)
    if keycloak:
        start = time.monotonic()
        home = ensure_distribution(settings.cache_dir)
        print(f"Keycloak: {home} ({time.monotonic() - start:.1f}s)", flush=True)
    if tracing:
        start = time.monotonic()
        binary = ensure_binary(settings.cache_dir)
        print(f"Jaeger: {binary} ({time.monotonic() - start:.1f}s)", flush=True)


if __name__ == "__main__":
    options = sys.argv[1:]
    fetch(Settings(), "--with-keycloak" in options, "--with-tracing" in options)
