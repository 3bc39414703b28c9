"""The `ostock` command: one root app, one sub-app per area."""

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ostock.cli import dlq, events, infra, logs, publish, replay, run, status, token, worker

RESULTS = Path("benchmarks/results")
DOCS = Path("docs/benchmarks.md")

app = typer.Typer(
    help="O-stock: organizations and their licenses, event-sourced on Kafka and Redis.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(infra.app, name="infra")
app.add_typer(publish.app, name="publish")
app.add_typer(worker.app, name="worker")
app.add_typer(replay.snapshots_app, name="snapshots")
app.add_typer(dlq.app, name="dlq")
app.command()(events.events)
app.command()(logs.logs)
app.command()(replay.replay)
app.command()(run.run)
app.command()(status.status)
app.command()(worker.api)
app.command()(token.token)


class BenchTracing(StrEnum):
    """What `ostock bench --tracing` runs: untraced, or traced at a sampling ratio."""

    OFF = "off"
    DEFAULT = "default"
    FULL = "full"


@app.command()
def bench(
    quick: Annotated[bool, typer.Option(help="3 runs of a smaller workload.")] = False,
    tiny: Annotated[bool, typer.Option(help="A tiny workload: only shows it works.")] = False,
    out: Annotated[Path, typer.Option(help="Folder of benchmarks.json.")] = RESULTS,
    docs: Annotated[Path, typer.Option(help="The Markdown page.")] = DOCS,
    tracing: Annotated[
        BenchTracing,
        typer.Option(
            help="default, full: only the pipeline and API, every process tracing to a "
            "Jaeger of the bench's own, at the default sampling ratio or every trace."
        ),
    ] = BenchTracing.OFF,
) -> None:
    """Benchmark the pipeline (rate, latency at fixed offered rates, memory), the API and
    replay against their bare baselines, beside the broker's own ceiling (targets:
    docs/performance.md)."""
    from benchmarks.harness import bench  # imported here: only this command needs it

    bench(quick, tiny, out, docs, tracing.value)
