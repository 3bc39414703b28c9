"""Fetch what the local infrastructure needs, ahead of the first start.

`python -m ostock.infra.fetch` (or `ostock infra fetch`): installs redis-server
if missing and resolves the Kafka jars into the cache folder, so that later
starts work offline.
"""

from ostock.infra.kafka import ensure_jars
from ostock.infra.redis import ensure_installed
from ostock.settings import Settings


def fetch(settings: Settings) -> None:
    """Install redis-server and resolve the Kafka jars unless already there."""
    print(f"redis-server: {ensure_installed()}", flush=True)
    print(f"Kafka jars: {ensure_jars(settings.cache_dir)}", flush=True)


if __name__ == "__main__":
    fetch(Settings())
