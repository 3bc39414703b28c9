"""The benchmark harness runs end to end on a tiny workload (never a timed assertion)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_quick_bench_writes_every_figure_and_its_baseline(tmp_path: Path) -> None:
    docs = tmp_path / "benchmarks.md"
    args = [sys.executable, "-m", "ostock", "bench", "--tiny", "--out", str(tmp_path)]
    subprocess.run([*args, "--docs", str(docs)], check=True, timeout=600)

    results = json.loads((tmp_path / "benchmarks.json").read_text())
    names = {figure["name"] for figure in results["figures"]}
    assert {
        "pipeline",
        "CPU per command, processes and Redis",
        "CPU per command, organization-handler",
        "CPU per command, organization-projector",
        "CPU per command, Redis",
        "peak RSS organization-handler (pipeline runs)",
        "peak RSS organization-projector (pipeline runs)",
        "command to view p50 at 500/s offered",
        "command to view p99 at 1,000/s offered",
        "command to view max at 1,000/s offered",
        "API GET organization",
        "API GET organization p99",
        "peak RSS API (API runs)",
        "replay, 2,000 events",
        "peak RSS replay, 2,000 events",
    } <= names
    ceilings = [f for f in results["figures"] if f["kind"] == "ceiling"]
    assert {f["unit"] for f in ceilings} == {"records/s", "MB/s"}
    assert {f["name"].split(",")[0] for f in ceilings} == {
        "broker ceiling: ProducerPerformance",
        "broker ceiling: ConsumerPerformance",
    }
    for figure in results["figures"]:
        # A process's CPU is counted in clock ticks (10 ms): a tiny run may use none.
        least = 0 if figure["unit"] == "µs" else 1e-9
        assert figure["measured"]["runs"] and figure["measured"]["median"] >= least, figure
        if figure["kind"] != "ceiling":
            assert figure["baseline"]["runs"] and figure["baseline"]["median"] >= least, figure
    assert results["settings"]["event_record_bytes"] > 0
    assert results["machine"]["load_average_at_start"]
    page = docs.read_text()
    assert "| pipeline |" in page and "| replay, 2,000 events |" in page
