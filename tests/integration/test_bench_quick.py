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
    assert {"pipeline", "API GET organization", "API GET organization p99"} <= names
    for figure in results["figures"]:
        assert figure["measured"]["runs"] and figure["baseline"]["runs"], figure
        assert figure["measured"]["median"] > 0 and figure["baseline"]["median"] > 0, figure
    assert "| pipeline |" in docs.read_text()
