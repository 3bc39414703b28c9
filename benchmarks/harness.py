"""`ostock bench`: Kafka and Redis of its own, every benchmark beside its baseline, the report."""

import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import typer

from benchmarks import api, pipeline, report
from benchmarks.stats import Figure
from ostock.infra.local import LocalInfra
from ostock.infra.ports import free_port
from ostock.infra.topics import ensure_topics
from ostock.settings import Settings


@dataclass(frozen=True)
class Workload:
    """How many runs of each figure, and how big each run is."""

    runs: int
    commands: int
    clients: int
    api_seconds: float
    api_max_requests: int


FULL = Workload(runs=5, commands=20_000, clients=32, api_seconds=10, api_max_requests=1_000_000)
QUICK = Workload(runs=3, commands=5_000, clients=32, api_seconds=5, api_max_requests=500_000)
TINY = Workload(runs=3, commands=300, clients=32, api_seconds=2, api_max_requests=100_000)


class Progress:
    """Plain progress lines with the time since the start."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        typer.echo(f"[{time.monotonic() - self.started:6.1f}s] {message}", err=True)


def bench(quick: bool, tiny: bool, out: Path, docs: Path) -> None:
    """Run every benchmark (`tiny` implies a quick, tiny workload); print and write the report."""
    workload = TINY if tiny else QUICK if quick else FULL
    progress = Progress()
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
            figures = measure(settings, workload, root, progress)
        finally:
            progress("stopping Kafka and Redis")
            infra.down()
    typer.echo(report.table(figures))
    used = {**asdict(workload), "topic_partitions": settings.topic_partitions}
    path = report.write(figures, report.machine(), used, out, docs)
    typer.echo(f"written: {path} and {docs}")


def measure(settings: Settings, workload: Workload, root: Path, progress: Progress) -> list[Figure]:
    """Every figure with its baseline, runs interleaved so both see the same machine load."""
    logs = root / "logs"
    logs.mkdir()
    rate = Figure("pipeline", "commands/s")
    progress("starting the organization handler and projector")
    with pipeline.system(settings, logs):
        for run in range(1, workload.runs + 1):
            progress(f"pipeline run {run}/{workload.runs}: {workload.commands} commands")
            measured, organization_id = pipeline.system_run(settings, workload.commands)
            rate.measured.runs.append(measured)
            progress(f"bare loop run {run}/{workload.runs}")
            rate.baseline.runs.append(pipeline.bare_run(settings, workload.commands))
    throughput = Figure("API GET organization", "requests/s")
    p50 = Figure("API GET organization p50", "ms")
    p99 = Figure("API GET organization p99", "ms")
    load = api.Load(workload.clients, workload.api_seconds, workload.api_max_requests)
    progress("starting the API and the bare ASGI app")
    with (
        api.ostock_api(settings, organization_id, logs) as ostock,
        api.bare_api(settings, organization_id, logs) as bare,
    ):
        for run in range(1, workload.runs + 1):
            for target, side in ((ostock, "measured"), (bare, "baseline")):
                progress(f"API run {run}/{workload.runs} ({side}): {load.clients} clients")
                result = api.load_run(target, load)
                for figure, name in (
                    (throughput, "requests_per_s"),
                    (p50, "p50_ms"),
                    (p99, "p99_ms"),
                ):
                    getattr(figure, side).runs.append(result[name])
    return [rate, throughput, p50, p99]
