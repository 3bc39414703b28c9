"""What `ostock bench` runs: the workloads, and its progress lines."""

import time
from dataclasses import dataclass

import typer


@dataclass(frozen=True)
class Workload:
    """How many runs of each figure, and how big each run is."""

    runs: int
    commands: int
    #: How long both pipeline sides run, uncounted, before the first measured run.
    warm_up_s: float
    clients: int
    api_seconds: float
    api_max_requests: int
    #: Offered command rates (per second) of the latency runs, each held this long.
    offered: tuple[float, ...]
    offered_seconds: float
    #: Sizes (events) of the replayed log, and the runs of each.
    replay_sizes: tuple[int, ...]
    replay_runs: int


FULL = Workload(
    runs=5, commands=20_000, warm_up_s=120, clients=32, api_seconds=10, api_max_requests=1_000_000,
    offered=(500, 1000), offered_seconds=10,
    replay_sizes=(10_000, 100_000, 1_000_000), replay_runs=3,
)  # fmt: skip
QUICK = Workload(
    runs=3, commands=10_000, warm_up_s=60, clients=32, api_seconds=5, api_max_requests=500_000,
    offered=(500, 1000), offered_seconds=5,
    replay_sizes=(10_000, 100_000), replay_runs=3,
)  # fmt: skip
TINY = Workload(
    runs=3, commands=300, warm_up_s=0, clients=32, api_seconds=2, api_max_requests=100_000,
    offered=(500, 1000), offered_seconds=1,
    replay_sizes=(2_000,), replay_runs=2,
)  # fmt: skip


class Progress:
    """Plain progress lines with the time since the start."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        typer.echo(f"[{time.monotonic() - self.started:6.1f}s] {message}", err=True)
