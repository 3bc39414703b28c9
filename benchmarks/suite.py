"""Every benchmark of `ostock bench` in turn, each figure beside its baseline, runs
interleaved so that both see the same machine load."""

import time
from pathlib import Path
from typing import Any

from benchmarks import api, ceiling, eventlog, latency, pipeline, replay
from benchmarks.processes import peak_rss_mib
from benchmarks.stats import CEILING, Figure
from benchmarks.workload import Progress, Workload
from ostock.infra.topics import ensure_topics
from ostock.settings import Settings


def measure(
    settings: Settings, workload: Workload, root: Path, progress: Progress, traced: bool = False
) -> tuple[list[Figure], dict[str, Any]]:
    """Every figure with its baseline, runs interleaved so both see the same machine load;
    and what the run found out on the way (the event record's size). `traced`: only the
    pipeline's and the API's, the figures tracing changes (replay makes no spans)."""
    logs = root / "logs"
    logs.mkdir()
    figures, organization_id = measure_pipeline(settings, workload, logs, progress)
    figures += measure_api(settings, workload, organization_id, logs, progress)
    if traced:
        return figures, {}
    failures: list[str] = []
    replayed, filled = measure_replay(settings, workload, logs, progress, failures)
    figures += replayed
    figures += measure_ceiling(settings, workload, filled, logs, progress)
    found = {
        "event_record_bytes": filled.record_size,
        "log_fill_events_per_s": round(filled.rate),
        "failed_runs": failures,
    }
    return figures, found


def measure_pipeline(
    settings: Settings, workload: Workload, logs: Path, progress: Progress
) -> tuple[list[Figure], str]:
    """Sustained commands/s, the processes' peak RSS, then the latency at each offered
    rate; the real handler and projector beside the bare loop."""
    rate = Figure("pipeline", "commands/s")
    progress("starting the organization handler and projector, and the bare loop")
    with pipeline.system(settings, logs) as system, pipeline.bare(settings, logs) as bare:
        warm_up(settings, workload, system, bare, progress)
        measured_runs, bare_runs = [], []
        for run in range(1, workload.runs + 1):
            progress(f"pipeline run {run}/{workload.runs}: {workload.commands} commands")
            measured_runs.append(pipeline.run(settings, system, workload.commands))
            progress(f"bare loop run {run}/{workload.runs}")
            bare_runs.append(pipeline.run(settings, bare, workload.commands))
        rate.measured.runs = [run.rate for run in measured_runs]
        rate.baseline.runs = [run.rate for run in bare_runs]
        (bare_pid,) = bare.pids.values()
        figures = [rate, *cpu_per_command(measured_runs, bare_runs)]
        for name, pid in system.pids.items():
            rss = Figure(f"peak RSS {name} (pipeline runs)", "MiB")
            rss.measured.runs.append(peak_rss_mib(pid))
            rss.baseline.runs.append(peak_rss_mib(bare_pid))
            figures.append(rss)
        figures += measure_latency(settings, workload, system, bare, progress)
    return figures, measured_runs[-1].organization_id


def cpu_per_command(measured: list[pipeline.Run], bare: list[pipeline.Run]) -> list[Figure]:
    """CPU per command of every process and Redis together, then of each: a pipeline
    process beside the bare loop's process, Redis beside Redis in the bare runs."""
    unit = "µs"
    total = Figure("CPU per command, processes and Redis", unit)
    total.measured.runs = [sum(run.cpu_us.values()) for run in measured]
    total.baseline.runs = [sum(run.cpu_us.values()) for run in bare]
    figures = [total]
    for name in measured[0].cpu_us:
        figure = Figure(f"CPU per command, {name}", unit)
        figure.measured.runs = [run.cpu_us[name] for run in measured]
        baseline = name if name == pipeline.REDIS else pipeline.BARE_LOOP
        figure.baseline.runs = [run.cpu_us[baseline] for run in bare]
        figures.append(figure)
    return figures


def warm_up(
    settings: Settings,
    workload: Workload,
    system: pipeline.Side,
    bare: pipeline.Side,
    progress: Progress,
) -> None:
    """Runs of each side in turn, not counted, for workload.warm_up_s: the broker starts
    cold, and its JIT compiler took a minute or two of load here before transactions
    stopped getting faster (the pipeline went from ~2,500 to ~4,500 commands/s, the p50
    at 500/s offered from ~200 to ~80 ms)."""
    started = time.monotonic()
    while time.monotonic() - started < workload.warm_up_s:
        elapsed = time.monotonic() - started
        progress(f"warm-up ({elapsed:.0f}/{workload.warm_up_s:.0f} s): both sides")
        pipeline.run(settings, system, workload.commands)
        pipeline.run(settings, bare, workload.commands)


def measure_latency(
    settings: Settings,
    workload: Workload,
    system: pipeline.Side,
    bare: pipeline.Side,
    progress: Progress,
) -> list[Figure]:
    """Command-to-view latency p50/p99/max at each offered rate, open loop."""
    figures: list[Figure] = []
    for per_s in workload.offered:
        offered = latency.Offered(per_s, workload.offered_seconds)
        found = {
            name: Figure(f"command to view {name} at {per_s:,.0f}/s offered", "ms")
            for name in ("p50", "p99", "max")
        }
        for run in range(1, workload.runs + 1):
            for side, series in ((system, "measured"), (bare, "baseline")):
                progress(
                    f"latency run {run}/{workload.runs} ({series}): {per_s:,.0f} commands/s "
                    f"for {offered.seconds:g} s"
                )
                result = latency.offered_run(settings, side, offered)
                if result["missing"]:
                    progress(f"  {result['missing']:.0f} views never showed up")
                for name, figure in found.items():
                    getattr(figure, series).runs.append(result[f"{name}_ms"])
        figures += found.values()
    return figures


def measure_api(
    settings: Settings, workload: Workload, organization_id: str, logs: Path, progress: Progress
) -> list[Figure]:
    """Requests/s and latency of a view read at fixed concurrency, and the servers' peak
    RSS; the API beside the bare ASGI app."""
    throughput = Figure("API GET organization", "requests/s")
    p50 = Figure("API GET organization p50", "ms")
    p99 = Figure("API GET organization p99", "ms")
    rss = Figure("peak RSS API (API runs)", "MiB")
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
        rss.measured.runs.append(peak_rss_mib(ostock.pid))
        rss.baseline.runs.append(peak_rss_mib(bare.pid))
    return [throughput, p50, p99, rss]


def measure_replay(
    settings: Settings,
    workload: Workload,
    logs: Path,
    progress: Progress,
    failures: list[str],
) -> tuple[list[Figure], eventlog.Filled]:
    """`ostock replay` events/s and peak RSS at each size of the log, beside reading and
    decoding it alone. A run that fails is added to `failures`, not to its figure."""
    replaying = replay.replay_settings(settings)
    ensure_topics(replaying)
    replay.load_library(replaying)
    filled = eventlog.Filled()
    figures: list[Figure] = []
    for size in workload.replay_sizes:
        progress(f"filling the replay's log to {size:,} events")
        eventlog.fill(replaying, filled, size, progress)
        rate = Figure(f"replay, {size:,} events", "events/s")
        rss = Figure(f"peak RSS replay, {size:,} events", "MiB")
        for run in range(1, workload.replay_runs + 1):
            for mode, series in (("rebuild", "measured"), ("decode", "baseline")):
                progress(f"replay run {run}/{workload.replay_runs} ({series}): {mode}")
                try:
                    result = replay.child(replaying, mode, logs / "replay.log", progress)
                except RuntimeError as error:  # reported, and the other runs go on
                    progress(f"  failed: {error}")
                    failures.append(f"{mode}, {size:,} events, run {run}: {error}")
                    continue
                if result["events"] != filled.records:
                    raise RuntimeError(f"{mode} read {result['events']} of {filled.records}")
                getattr(rate, series).runs.append(result["events_per_s"])
                getattr(rss, series).runs.append(result["peak_rss_mib"])
        figures += [rate, rss]
    return figures, filled


def measure_ceiling(
    settings: Settings, workload: Workload, filled: eventlog.Filled, logs: Path, progress: Progress
) -> list[Figure]:
    """Kafka's ProducerPerformance and ConsumerPerformance, records of the event log's
    size, as many as the log holds."""
    count, size = filled.records, filled.record_size
    found = {
        (tool, unit): Figure(f"broker ceiling: {tool}, {size}-byte records", unit, kind=CEILING)
        for tool in ("ProducerPerformance", "ConsumerPerformance")
        for unit in ("records/s", "MB/s")
    }
    for run in range(1, workload.replay_runs + 1):
        name = ceiling.topic(settings)
        progress(f"broker ceiling run {run}/{workload.replay_runs}: {count:,} records")
        produced = ceiling.produce(settings, name, count, size, logs / "ceiling.log")
        consumed = ceiling.consume(settings, name, count, logs / "ceiling.log")
        for tool, result in (("ProducerPerformance", produced), ("ConsumerPerformance", consumed)):
            found[tool, "records/s"].measured.runs.append(result["records_per_s"])
            found[tool, "MB/s"].measured.runs.append(result["mb_per_s"])
    return list(found.values())
