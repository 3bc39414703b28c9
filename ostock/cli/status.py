"""`ostock status`: the whole system at a glance (ostock.cli.status_report), as one table
or, with --json, as one JSON object; its exit status says whether all is well."""

import json
from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ostock.cli.infra import Scale, with_options
from ostock.cli.status_report import Report, gather
from ostock.kafka.cluster_health import ClusterHealth
from ostock.kafka.lag import Member, PartitionLag
from ostock.settings import Settings

#: Exit statuses: all is well; a process is down or a lag above a limit; Kafka or Redis
#: could not be asked.
OK, UNWELL, UNREACHABLE = 0, 1, 2


def status(
    max_lag_records: Annotated[
        int | None, typer.Option(metavar="N", help="Unwell when a partition lags more records.")
    ] = None,
    max_lag_seconds: Annotated[
        float | None, typer.Option(metavar="S", help="Unwell when a partition lags more seconds.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object, for scripts.")] = False,
    scale: Scale = None,
) -> None:
    """Each process up or not, each consumer group's lag, the dead letters, the views'
    generations and replays, the snapshots. Exit 0 when all is well, 1 when a process is
    down or a lag is above --max-lag-records / --max-lag-seconds, 2 when Kafka or Redis
    cannot be reached."""
    settings = with_options(Settings(), scale=scale)
    report = gather(settings)
    found = problems(report, max_lag_records, max_lag_seconds)
    if as_json:
        typer.echo(json.dumps(to_json(report, found), indent=2))
    else:
        Console().print(table(report, max_lag_records, max_lag_seconds))
        for problem in found:
            typer.echo(problem, err=True)
    raise typer.Exit(exit_status(report, found))


def over(lag: PartitionLag, max_records: int | None, max_seconds: float | None) -> bool:
    """Whether `lag` is above either limit given."""
    seconds = lag.seconds or 0.0
    return (max_records is not None and lag.records > max_records) or (
        max_seconds is not None and seconds > max_seconds
    )


def problems(report: Report, max_records: int | None, max_seconds: float | None) -> list[str]:
    """One line per thing that is not well, the unreachable first."""
    found = list(report.unreachable.values())
    cluster = report.cluster
    if cluster is not None and not cluster.whole:
        found.append(
            f"Kafka shows {len(cluster.brokers)} of {cluster.expected} brokers, "
            f"{len(cluster.under_replicated)} partitions under-replicated, "
            f"{len(cluster.offline)} offline"
        )
    found += [f"{p.name} is down" for p in report.processes if not p.up]
    found += [
        f"{lag.group} lags on {lag.topic}[{lag.partition}]: {lag.records} records, {_seconds(lag)}"
        for lag in report.lags
        if over(lag, max_records, max_seconds)
    ]
    return found


def exit_status(report: Report, found: list[str]) -> int:
    if report.unreachable:
        return UNREACHABLE
    return UNWELL if found else OK


def table(report: Report, max_records: int | None, max_seconds: float | None) -> Table:
    """The report as one table: a row per unreachable part, process, group and topic,
    dead-letter reason, view and snapshot."""
    rows = Table(title="O-stock status")
    for heading in ("part", "name", "state", "detail"):
        rows.add_column(heading, overflow="fold")
    for part, reason in report.unreachable.items():
        rows.add_row(part, "", "[red]unreachable[/red]", reason)
    if report.cluster is not None:
        rows.add_row("brokers", *_brokers(report.cluster))
    shown: set[str | None] = {None}
    for process in report.processes:
        state = "[green]up[/green]" if process.up else "[red]down[/red]"
        # A group's members once, on the row of its first copy.
        detail = "" if process.group in shown else _members(process.members, process.group)
        shown.add(process.group)
        rows.add_row("process", process.name, state, detail)
    by_topic: dict[tuple[str, str], list[PartitionLag]] = {}
    for lag in report.lags:
        by_topic.setdefault((lag.group, lag.topic), []).append(lag)
    for (group, topic), lags in by_topic.items():
        worst = any(over(lag, max_records, max_seconds) for lag in lags)
        behind = "[red]over[/red]" if worst else "behind" if any(x.records for x in lags) else "ok"
        parts = ", ".join(f"[{x.partition}] {x.records} rec {_seconds(x)}" for x in lags)
        rows.add_row("lag", group, behind, f"{topic}: {parts}")
    for reason, letters in report.dead_letters.items():
        rows.add_row("dead letters", reason, str(letters.total), f"{letters.requeued} requeued")
    for view in report.views:
        replay = f"replay building {view.building}" if view.building else ""
        rows.add_row("view", view.model, f"live {view.live}", replay)
    for name, about in report.snapshots.items():
        detail = f"taken {about.get('taken_at')}, {about.get('events')} events"
        rows.add_row("snapshot", name, f"until {about.get('until')}", detail)
    return rows


def to_json(report: Report, found: list[str]) -> dict[str, Any]:
    """The report as JSON values, with the problems found and whether all is well."""
    return {
        "ok": not found,
        "problems": found,
        "unreachable": report.unreachable,
        "processes": [
            {
                "name": p.name,
                "up": p.up,
                "serving": p.serving,
                "group": p.group,
                "members": None
                if p.members is None
                else [
                    {
                        "client_id": m.client_id,
                        "host": m.host,
                        "instance": m.instance,
                        "partitions": [{"topic": t, "partition": n} for t, n in m.partitions],
                    }
                    for m in p.members
                ],
            }
            for p in report.processes
        ],
        "lags": [asdict(lag) for lag in report.lags],
        "dead_letters": {r: letters._asdict() for r, letters in report.dead_letters.items()},
        "views": [asdict(view) for view in report.views],
        "snapshots": report.snapshots,
        "cluster": None if report.cluster is None else asdict(report.cluster),
    }


def _brokers(cluster: ClusterHealth) -> tuple[str, str, str]:
    """The brokers row: how many of how many, whole or not, and the partitions short."""
    state = "[green]whole[/green]" if cluster.whole else "[red]degraded[/red]"
    ids = ",".join(str(broker) for broker in cluster.brokers)
    short = [
        f"{len(found)} {what}: {', '.join(found[:5])}{' ...' if len(found) > 5 else ''}"
        for what, found in (
            ("under-replicated", cluster.under_replicated),
            ("offline", cluster.offline),
        )
        if found
    ]
    return f"{len(cluster.brokers)} of {cluster.expected}", state, "; ".join([f"ids {ids}", *short])


def _members(members: tuple[Member, ...] | None, group: str | None) -> str:
    """Each member's instance (its group.instance.id, else its client id), host and
    partitions, as topic[0,1,...]."""
    if group is None:
        return ""
    if members is None:
        return f"{group}: members unknown"
    if not members:
        return f"{group}: no members"
    described = []
    for member in members:
        by_topic: dict[str, list[str]] = {}
        for topic, partition in member.partitions:
            by_topic.setdefault(topic, []).append(str(partition))
        owned = ", ".join(f"{topic}[{','.join(ns)}]" for topic, ns in by_topic.items())
        described.append(f"{member.instance or member.client_id}@{member.host}: {owned}")
    return "; ".join(described)


def _seconds(lag: PartitionLag) -> str:
    return "? s" if lag.seconds is None else f"{lag.seconds:.1f} s"
