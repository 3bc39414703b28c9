"""The broker's own ceiling, for reference: Kafka's ProducerPerformance and
ConsumerPerformance (org.apache.kafka:kafka-tools, resolved with the broker) against the
benchmark's broker, records of the event log's mean size, as many as the log's largest
size, producer settings of benchmarks.eventlog.
"""

import re
import subprocess
from pathlib import Path
from uuid import uuid4

# confluent_kafka.admin re-exports NewTopic without listing it, which mypy --strict flags.
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from benchmarks.eventlog import FAST_PRODUCER
from ostock.infra.kafka import ensure_jars
from ostock.infra.maven import require
from ostock.settings import Settings

TOOL_TIMEOUT_S = 600.0
# The summary line: "N records sent, R records/sec (M MB/sec), ..."
SENT = re.compile(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\)")


def topic(settings: Settings) -> str:
    """A fresh topic of the event topics' shape."""
    name = f"bench-ceiling-{uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    admin.create_topics([NewTopic(name, settings.topic_partitions, 1)])[name].result(30)
    return name


def produce(settings: Settings, name: str, count: int, size: int, log: Path) -> dict[str, float]:
    """ProducerPerformance: `count` records of `size` bytes as fast as it can."""
    props = [f"bootstrap.servers={settings.kafka_bootstrap}", "acks=all"]
    props += [f"{key}={value}" for key, value in FAST_PRODUCER.items()]
    args = ["--topic", name, "--num-records", str(count), "--record-size", str(size)]
    args += ["--throughput", "-1", "--producer-props", *props]
    out = _tool(settings, "org.apache.kafka.tools.ProducerPerformance", args, log)
    found = SENT.findall(out)
    if not found:
        raise RuntimeError(f"ProducerPerformance printed no summary; see {log}")
    _, records_per_s, mb_per_s = found[-1]
    return {"records_per_s": float(records_per_s), "mb_per_s": float(mb_per_s)}


def consume(settings: Settings, name: str, count: int, log: Path) -> dict[str, float]:
    """ConsumerPerformance: `count` records read back; the fetch rates, which leave out
    joining the group."""
    args = ["--bootstrap-server", settings.kafka_bootstrap, "--topic", name]
    args += ["--messages", str(count), "--group", f"bench-perf-{uuid4().hex[:8]}"]
    args += ["--timeout", "30000", "--hide-header"]
    out = _tool(settings, "org.apache.kafka.tools.ConsumerPerformance", args, log)
    # start.time, end.time, MB, MB.sec, nMsg, nMsg.sec, rebalance.time.ms,
    # fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
    lines = [line for line in out.splitlines() if line.count(",") >= 9]
    if not lines:
        raise RuntimeError(f"ConsumerPerformance printed no summary; see {log}")
    values = [part.strip() for part in lines[-1].split(",")]
    return {"records_per_s": float(values[9]), "mb_per_s": float(values[8])}


def _tool(settings: Settings, main: str, args: list[str], log: Path) -> str:
    libs = ensure_jars(settings.cache_dir)
    command = [require("java"), "-Xmx512m", "-cp", f"{libs}/*", main, *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)
    with log.open("a") as out:
        out.write(f"$ {main} {' '.join(args)}\n{result.stdout}{result.stderr}\n")
    if result.returncode != 0:
        raise RuntimeError(f"{main} failed ({result.returncode}); see {log}")
    return result.stdout
