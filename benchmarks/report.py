"""The results: a table on the terminal, JSON, and docs/benchmarks.md."""

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.stats import CEILING, Figure
from ostock.infra.kafka import kafka_version

ABOUT = (
    "- pipeline: CreateOrganization commands through the organization handler and",
    "  projector processes until every view exists; baseline: benchmarks/bare_loop.py,",
    "  one process consuming, decoding (fastavro) and writing each view with HSET and",
    "  PUBLISH, one pipelined round trip per batch of what has arrived. Both sides run",
    "  uncounted for warm_up_s first: the broker starts cold.",
    "- CPU per command: user + system time of each process (/proc/PID/stat, every",
    "  thread) and of Redis (INFO cpu) over the pipeline runs, per command; the broker's",
    "  is not counted. Baseline: the bare loop's process, and Redis in its runs.",
    "- command to view at N/s offered: open loop, commands sent on schedule; latency =",
    "  the view's PUBLISH seen by a subscriber minus the scheduled send time; same",
    "  baseline.",
    "- API: GET of one organization view from 32 keep-alive clients in a process of",
    "  their own; baseline: a bare ASGI app doing the same HGET under the same uvicorn.",
    "- replay, N events: events/s of ostock.replay.rebuild (every read model, as",
    "  `ostock replay` reports it) on a log of N events produced as the handlers write",
    "  them; baseline: the same log read and decoded with no writes (same consumer",
    "  configuration, batch size and Codec), each in a process of its own.",
    "- peak RSS: VmHWM of each pipeline process after the pipeline runs (baseline: the",
    "  bare loop's), of the API after its runs (baseline: the bare ASGI app's), one",
    "  reading each; ru_maxrss of each replay and decode run.",
    "- broker ceiling: Kafka's ProducerPerformance and ConsumerPerformance (4.1.1)",
    "  against the same broker, records of the event log's mean size, as many as the",
    "  largest log; for reference, no baseline.",
)
#: Benchmarks with a command of their own, outside `ostock bench`.
ELSEWHERE = (
    "- deployments: `.venv/bin/python -m benchmarks.deployments [--commands N] [--rate R]",
    "  [--seconds S] [--rounds K]` (defaults 3000, 200/s, 10 s, 2; about 10 minutes), not",
    "  run by `ostock bench`: one Kafka node and one Redis against a 3-node Kafka cluster",
    "  and a 3-master Redis Cluster, started in turn (single, cluster, single, cluster),",
    "  each on free ports in a temporary folder with every process of `ostock run`. Per",
    "  start: time to ready (infra up and topics; all until /health/ready), commands/s",
    "  of N CreateOrganization commands until every view exists (after 200 not counted),",
    "  CPU per command of every process, Kafka node and Redis node, and command-to-view",
    "  p50/p99 at R/s offered for S s, open loop, each view seen by polling its key every",
    "  2 ms (sharded pub/sub takes no pattern). It prints the cluster's median beside the",
    "  single node's; figures of a run are in performance.md.",
)
HEADER = ("figure", "unit", "O-stock median (min-max)", "baseline median (min-max)", "ratio")


def machine() -> dict[str, Any]:
    """Cores, memory, Python and Kafka versions, and the date."""
    memory_kb = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kb / 2**20, 1),
        "python": platform.python_version(),
        "kafka": kafka_version(),
        "platform": platform.platform(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as `uptime` shows them."""
    return ", ".join(f"{load:.2f}" for load in os.getloadavg())


def rows(figures: list[Figure]) -> list[tuple[str, ...]]:
    """One row per figure: measured and baseline with their spread, and the ratio (a
    ceiling has neither baseline nor ratio)."""
    return [
        (f.name, f.unit, f.measured.spread(), f.baseline.spread(), f"{f.ratio:.2f}x")
        if f.kind != CEILING
        else (f.name, f.unit, f.measured.spread(), "(the broker's ceiling)", "-")
        for f in figures
    ]


def table(figures: list[Figure], header: tuple[str, ...] = HEADER) -> str:
    """A plain-text table for the terminal, under `header`."""
    lines = [header, *rows(figures)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines
    )


def markdown(figures: list[Figure], info: dict[str, Any], settings: dict[str, Any]) -> str:
    """docs/benchmarks.md: the machine, the settings, and the table."""
    lines = [
        "# Benchmarks",
        "",
        "Written by `ostock bench`; each figure is the median of its runs, the range in",
        "brackets, beside its baseline measured in the same run (targets: performance.md).",
        "",
        *ABOUT,
        "",
        *ELSEWHERE,
        "",
        *(f"- {name}: {value}" for name, value in {**info, **settings}.items()),
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
        *("| " + " | ".join(row) + " |" for row in rows(figures)),
        "",
    ]
    return "\n".join(lines)


def write(
    figures: list[Figure], info: dict[str, Any], settings: dict[str, Any], out: Path, docs: Path
) -> Path:
    """Write results.json under `out` and the Markdown page at `docs`; the JSON's path."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "benchmarks.json"
    document = {"machine": info, "settings": settings, "figures": [f.as_dict() for f in figures]}
    path.write_text(json.dumps(document, indent=2) + "\n")
    docs.parent.mkdir(parents=True, exist_ok=True)
    docs.write_text(markdown(figures, info, settings))
    return path
