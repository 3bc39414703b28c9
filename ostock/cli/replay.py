"""`ostock replay` and `ostock snapshots`: rebuild read models from the event log,
check them against the live ones, and freeze them at a moment."""

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import typer
from confluent_kafka import KafkaException
from redis.exceptions import RedisError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from ostock.logs import configure_logging
from ostock.replay import snapshots as snapshot_store
from ostock.replay.rebuild import ReplayStats, rebuild
from ostock.replay.verify import verify
from ostock.settings import Settings
from ostock.telemetry.metrics import serve_metrics
from ostock.views.client import RedisClient, redis_client
from ostock.views.generations import snapshots
from ostock.views.keys import SNAPSHOT_NAME
from ostock.views.models import READ_MODELS

snapshots_app = typer.Typer(help="Snapshots of the read models (ostock replay --until).")
console = Console(stderr=True)

T = TypeVar("T")


def replay(
    model: Annotated[
        list[str] | None,
        typer.Option(
            metavar="MODEL",
            help="Rebuild only this read model (repeatable): "
            + "; ".join(f"{m.name}: {m.description}" for m in READ_MODELS.values()),
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Rebuild beside the live views, compare them key by key, byte for byte, "
            "print every difference and drop the rebuilt ones (exit 1 if any differ).",
        ),
    ] = False,
    until: Annotated[
        datetime | None,
        typer.Option(
            metavar="TIME",
            help="Build the views as they stood at this moment (ISO 8601, UTC unless it "
            "says) into snapshot --snapshot; live readers are not touched.",
            formats=[
                "%Y-%m-%dT%H:%M:%S.%f%z",
                "%Y-%m-%dT%H:%M:%S%z",
                "%Y-%m-%dT%H:%M:%S.%f",
                "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%d",
            ],
        ),
    ] = None,
    snapshot: Annotated[
        str | None, typer.Option(metavar="NAME", help="The snapshot's name (with --until).")
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            metavar="PORT",
            help="Serve the replay's progress on http://<metrics_host>:PORT/metrics while "
            "it runs (ostock_replay_*).",
        ),
    ] = None,
) -> None:
    """Rebuild read models from offset 0 of the event topics into a new generation while
    the system stays live, then switch readers to it atomically and drop the old one."""
    settings = Settings()
    configure_logging(settings, "replay")
    if metrics_port is not None:
        serve_metrics(settings.metrics_host, metrics_port)
    names = model or list(READ_MODELS)
    unknown = sorted(set(names) - set(READ_MODELS))
    if unknown:
        raise typer.BadParameter(f"unknown read model {unknown[0]!r}", param_hint="--model")
    models = [READ_MODELS[name] for name in names]
    if until is not None:
        if snapshot is None:
            raise typer.BadParameter("--until needs --snapshot NAME", param_hint="--snapshot")
        _check_name(snapshot)
        moment = until if until.tzinfo else until.replace(tzinfo=UTC)
        stats = _run(
            settings,
            lambda redis, progress: snapshot_store.take(
                settings, redis, snapshot, moment, progress
            ),
        )
        _summary("snapshot " + snapshot, stats)
        return
    if check:
        stats, differences = _run(settings, lambda redis, p: verify(settings, redis, models, p))
        _summary("verified", stats)
        for difference in differences:
            typer.echo(f"differs: {difference.model} {difference.key}")
            typer.echo(f"  live:    {difference.live!r}")
            typer.echo(f"  rebuilt: {difference.rebuilt!r}")
        if differences:
            console.print(f"[red]{len(differences)} keys differ[/red]")
            raise typer.Exit(1)
        console.print("[green]the rebuilt views equal the live ones, byte for byte[/green]")
        return
    stats = _run(settings, lambda redis, progress: rebuild(settings, redis, models, progress))
    _summary(f"switched {', '.join(names)} to generation {stats.generation}", stats)


@snapshots_app.command("list")
def list_snapshots() -> None:
    """Every snapshot: its name, the moment it shows and when it was taken."""
    settings = Settings()
    taken = _run(settings, lambda redis, _: snapshots(redis, settings.redis_prefix), bar=False)
    for name, about in taken.items():
        typer.echo(
            f"{name}\tuntil {about['until']}\ttaken {about['taken_at']}\t{about['events']} events"
        )


@snapshots_app.command("drop")
def drop_snapshot(name: str) -> None:
    """Delete a snapshot and its views."""
    settings = Settings()
    dropped = _run(
        settings,
        lambda redis, _: snapshot_store.drop_snapshot(redis, settings.redis_prefix, name),
        bar=False,
    )
    if not dropped:
        console.print(f"no snapshot {name!r}")
        raise typer.Exit(1)
    typer.echo(f"dropped snapshot {name}")


def _check_name(name: str) -> None:
    if not re.fullmatch(SNAPSHOT_NAME, name):
        raise typer.BadParameter(
            "lowercase letters, digits and '-', at most 63", param_hint="--snapshot"
        )


def _run(
    settings: Settings,
    work: Callable[[RedisClient, Callable[[int, int], None]], Awaitable[T]],
    bar: bool = True,
) -> T:
    """Run `work` with a Redis client and a progress bar; a broker or Redis that cannot be
    reached, or a replay refused, ends with its reason, not a traceback."""

    async def main() -> T:
        async with redis_client(settings) as redis:
            with _progress(bar) as advance:
                return await work(redis, advance)

    try:
        return asyncio.run(main())
    except (RedisError, KafkaException, OSError, snapshot_store.SnapshotExists) as error:
        console.print(f"[red]replay failed:[/red] {error}")
        raise typer.Exit(1) from None


@contextmanager
def _progress(bar: bool) -> Iterator[Callable[[int, int], None]]:
    if not bar:
        yield lambda done, total: None
        return
    columns = (
        TextColumn("replaying"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]:,.0f} events/s"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("replay", total=None, rate=0.0)

        def advance(done: int, total: int) -> None:
            speed = progress.tasks[0].speed or 0.0
            progress.update(task, completed=done, total=total, rate=speed)

        yield advance


def _summary(what: str, stats: ReplayStats) -> None:
    console.print(
        f"{what}: {stats.events:,} events in {stats.seconds:.1f} s "
        f"({stats.rate:,.0f} events/s), {stats.applied:,} writes applied, "
        f"{stats.undecodable} undecodable skipped"
    )
