"""One Kafka node and one Redis against a 3-node Kafka cluster and a 3-master Redis Cluster.

`python -m benchmarks.deployments [--commands N]`: each deployment in turn, ROUNDS
times (single, cluster, single, cluster), so both see the same machine load. Each time:
its infrastructure on free ports in a temporary folder of its own, its topics, and
every process of ostock.deployables.PROCESSES as `ostock run` starts it; then
  - time to ready: from the infrastructure's start until its topics exist, and until
    the API's /health/ready;
  - throughput: N CreateOrganization commands until every view exists
    (benchmarks.pipeline), after WARM_UP commands not counted;
  - CPU per command of all processes, the Kafka nodes and Redis (every node);
  - command-to-view latency at a fixed offered rate (benchmarks.latency.polled_run).
The table: each figure's median for the cluster beside the single node's, and the ratio.
"""

import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from benchmarks import latency, pipeline, report
from benchmarks.processes import settings_env, start, stop, wait_http
from benchmarks.stats import Figure
from benchmarks.workload import Progress
from ostock.deployables import PROCESSES, Instance, instance_env, principal_env
from ostock.infra.local import LocalInfra
from ostock.infra.ports import free_port, free_port_block, is_listening
from ostock.infra.topics import ensure_topics
from ostock.settings import Settings

#: Each deployment: Kafka nodes, Redis Cluster masters (0: one Redis).
SINGLE = ("single", 1, 0)
CLUSTER = ("cluster", 3, 3)
ROUNDS = 2
WARM_UP = 200
#: A Redis Cluster node's bus port, above its client port (Redis's default).
BUS_OFFSET = 10000
HEADER = ("figure", "unit", "cluster median (min-max)", "single median (min-max)", "ratio")


@dataclass(frozen=True)
class Deployment:
    """A running deployment: its settings, the side benchmarks.pipeline drives, and how
    long its infrastructure and topics, and the whole of it, took to be ready."""

    settings: Settings
    side: pipeline.Side
    infra_s: float
    ready_s: float


def main(
    commands: Annotated[int, typer.Option(help="Commands of each throughput run.")] = 3000,
    rate: Annotated[float, typer.Option(help="Offered commands/s of the latency runs.")] = 200,
    seconds: Annotated[float, typer.Option(help="How long each latency run lasts.")] = 10,
    rounds: Annotated[int, typer.Option(help="Runs of each deployment.")] = ROUNDS,
) -> None:
    """Measure both deployments, interleaved, and print the table."""
    progress = Progress()
    figures = {
        "infra": Figure("time to ready: infra up and topics", "s"),
        "ready": Figure("time to ready: and every process (/health/ready)", "s"),
        "rate": Figure(f"pipeline, {commands:,} commands", "commands/s"),
        "cpu": Figure("CPU per command, processes, Kafka and Redis", "µs"),
        "p50": Figure(f"command to view p50 at {rate:,.0f}/s offered", "ms"),
        "p99": Figure(f"command to view p99 at {rate:,.0f}/s offered", "ms"),
    }
    offered = latency.Offered(rate, seconds)
    with tempfile.TemporaryDirectory(prefix="ostock-deployments-") as temp:
        for run in range(1, rounds + 1):
            for name, brokers, masters in (SINGLE, CLUSTER):
                series = "baseline" if name == SINGLE[0] else "measured"
                folder = Path(temp) / f"{name}-{run}"
                progress(f"round {run}/{rounds}, {name}: starting")
                with deployed(folder, brokers, masters) as deployment:
                    progress(f"  ready in {deployment.ready_s:.1f} s; {commands:,} commands")
                    measured = pipeline.run(deployment.settings, deployment.side, commands)
                    progress(f"  {measured.rate:,.0f} commands/s; latency at {rate:,.0f}/s")
                    result = latency.polled_run(deployment.settings, deployment.side, offered)
                    if result["missing"]:
                        progress(f"  {result['missing']:.0f} views never showed up")
                    found = {
                        "infra": deployment.infra_s,
                        "ready": deployment.ready_s,
                        "rate": measured.rate,
                        "cpu": sum(measured.cpu_us.values()),
                        "p50": result["p50_ms"],
                        "p99": result["p99_ms"],
                    }
                    for key, value in found.items():
                        getattr(figures[key], series).runs.append(value)
                progress(f"  {name} stopped")
    typer.echo(report.table(list(figures.values()), HEADER))


@contextmanager
def deployed(folder: Path, brokers: int, masters: int) -> Iterator[Deployment]:
    """The infrastructure and every process, ready and warmed up; all stopped at the end."""
    kafka_port = free_port() if brokers == 1 else free_port_block(2 * brokers)
    settings = Settings(
        kafka_brokers=brokers,
        redis_cluster=masters,
        kafka_bootstrap=f"127.0.0.1:{kafka_port}",
        kafka_controller_port=free_port(),
        redis_url=f"redis://127.0.0.1:{redis_port(masters)}/0",
        api_port=free_port(),
        metrics_port_base=free_port_block(len(PROCESSES)),
        data_dir=folder / "data",
        config_dir=folder / "config",
        log_level="WARNING",
    )
    started = time.monotonic()
    infra = LocalInfra.from_settings(settings)
    with ExitStack() as stack:
        stack.callback(infra.down)
        infra.up()
        settings = infra.clients(settings).model_copy(update={"redis_url": infra.redis.url})
        ensure_topics(settings)
        infra_s = time.monotonic() - started
        logs = settings.data_dir / "logs"
        logs.mkdir(parents=True)
        processes = {}
        for name in PROCESSES:
            own = principal_env(name) | instance_env(settings, Instance(name))
            env = settings_env(settings, **own)
            processes[name] = start(["-m", "ostock", *PROCESSES[name]], env, logs / f"{name}.log")
            stack.callback(stop, processes[name])
        ready = f"http://127.0.0.1:{settings.api_port}/health/ready"
        wait_http(ready, processes["api"], logs / "api.log", status=200)
        ready_s = time.monotonic() - started
        exited = [name for name, process in processes.items() if process.poll() is not None]
        if exited:
            raise RuntimeError(f"{exited} exited; their logs are in {logs}")
        pids = {name: process.pid for name, process in processes.items()}
        for node in infra.kafka.nodes:
            pid = node.pid()
            if pid is None:
                raise RuntimeError(f"Kafka node {node.node_id} is not running")
            pids[f"kafka-{node.node_id}"] = pid
        side = pipeline.Side(settings.topics.organization_commands, settings.redis_prefix, pids)
        pipeline.run(settings, side, WARM_UP)
        yield Deployment(settings, side, infra_s, ready_s)


def redis_port(masters: int) -> int:
    """A free port for one Redis, or the first of `masters` free ports whose bus ports
    are free too."""
    if not masters:
        return free_port()
    while True:
        first = free_port_block(masters)
        buses = range(first + BUS_OFFSET, first + BUS_OFFSET + masters)
        if not any(is_listening(port) for port in buses):
            return first


if __name__ == "__main__":
    typer.run(main)
