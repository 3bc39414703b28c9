"""`ostock bench`: Kafka and Redis of its own, every benchmark beside its baseline, the report."""

import tempfile
from dataclasses import asdict
from pathlib import Path

import typer

from benchmarks import report
from benchmarks.suite import measure
from benchmarks.workload import FULL, QUICK, TINY, Progress
from ostock.infra.local import LocalInfra
from ostock.infra.ports import free_port
from ostock.infra.topics import ensure_topics
from ostock.settings import Settings


def bench(quick: bool, tiny: bool, out: Path, docs: Path) -> None:
    """Run every benchmark (`tiny` implies a quick, tiny workload); print and write the report."""
    workload = TINY if tiny else QUICK if quick else FULL
    progress = Progress()
    info = {**report.machine(), "load_average_at_start": report.load_average()}
    with tempfile.TemporaryDirectory(prefix="ostock-bench-") as temp:
        root = Path(temp)
        infra = LocalInfra(
            root / "infra", Settings().cache_dir, free_port(), free_port(), free_port()
        )
        progress("starting Kafka and Redis")
        infra.up()
        try:
            settings = Settings(
                kafka_bootstrap=infra.kafka.bootstrap,
                redis_url=infra.redis.url,
                redis_prefix="bench",
                data_dir=root / "data",
                config_dir=root / "config",
                log_level="WARNING",
            )
            ensure_topics(settings)
            figures, found = measure(settings, workload, root, progress)
        finally:
            progress("stopping Kafka and Redis")
            infra.down()
    info["load_average_at_end"] = report.load_average()
    typer.echo(report.table(figures))
    used = {**asdict(workload), "topic_partitions": settings.topic_partitions, **found}
    path = report.write(figures, info, used, out, docs)
    typer.echo(f"written: {path} and {docs}")
