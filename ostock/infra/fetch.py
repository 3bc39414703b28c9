"""Fetch what the local infrastructure needs, ahead of the first start.

`python -m ostock.infra.fetch` (or `ostock infra fetch`): installs redis-server
if missing and resolves the Kafka jars (and, with `--with keycloak`, the
Keycloak distribution) into the cache folder, so that later starts work offline.
"""

import sys
import time

from ostock.infra.kafka import ensure_jars
from ostock.infra.keycloak import ensure_distribution
from ostock.infra.redis import ensure_installed
from ostock.settings import Settings


def fetch(settings: Settings, keycloak: bool = False) -> None:
    """Install redis-server and resolve the Kafka jars (and Keycloak if asked) unless there."""
    print(f"redis-server: {ensure_installed()}", flush=True)
    print(f"Kafka jars: {ensure_jars(settings.cache_dir)}", flush=True)
    if keycloak:
        start = time.monotonic()
        home = ensure_distribution(settings.cache_dir)
        print(f"Keycloak: {home} ({time.monotonic() - start:.1f}s)", flush=True)


if __name__ == "__main__":
    fetch(Settings(), keycloak="--with-keycloak" in sys.argv[1:])
