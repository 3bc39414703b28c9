"""`ostock bench`: Kafka and Redis of its own, every benchmark beside its baseline, the report.

Traced (`--tracing default|full`), a Jaeger of its own takes every process's spans, and
only the pipeline and API parts run: what tracing costs shows beside the same baselines.
"""

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer

from benchmarks import report
from benchmarks.suite import measure
from benchmarks.workload import FULL, QUICK, TINY, Progress
from ostock.infra.jaeger import JaegerServer
from ostock.infra.local import LocalInfra
from ostock.infra.ports import free_port
from ostock.infra.topics import ensure_topics
from ostock.settings import Settings

#: Sampling ratio of each traced mode: the settings' default, and every trace.
SAMPLING = {"default": Settings.model_fields["trace_sampling_ratio"].default, "full": 1.0}


def bench(quick: bool, tiny: bool, out: Path, docs: Path, tracing: str = "off") -> None:
    """Run every benchmark (`tiny` implies a quick, tiny workload), or with `tracing`
    ("default", "full": its sampling) the pipeline and API ones traced; print and write
    the report."""
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
            with traced(settings, tracing, root, progress) as settings:
                figures, found = measure(settings, workload, root, progress, tracing != "off")
        finally:
            progress("stopping Kafka and Redis")
            infra.down()
    info["load_average_at_end"] = report.load_average()
    typer.echo(report.table(figures))
    used = {**asdict(workload), "topic_partitions": settings.topic_partitions, **found}
    used["tracing"] = tracing
    if tracing != "off":
        used["trace_sampling_ratio"] = SAMPLING[tracing]
    path = report.write(figures, info, used, out, docs)
    typer.echo(f"written: {path} and {docs}")


@contextmanager
def traced(settings: Settings, tracing: str, root: Path, progress: Progress) -> Iterator[Settings]:
    """`settings`, or, traced, the same sending spans to a Jaeger running meanwhile."""
    if tracing == "off":
        yield settings
        return
    jaeger = JaegerServer(root / "infra", settings.cache_dir, free_port(), free_port())
    progress("starting Jaeger")
    jaeger.start()
    update: dict[str, Any] = {
        "tracing_endpoint": jaeger.otlp_endpoint,
        "trace_sampling_ratio": SAMPLING[tracing],
    }
    try:
        yield settings.model_copy(update=update)
    finally:
        progress("stopping Jaeger")
        jaeger.stop()
