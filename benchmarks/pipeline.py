"""Pipeline: CreateOrganization commands to organization views in Redis.

Measured: the real organization handler and projector as processes, from the first
publish until the last view exists. Baseline: benchmarks.bare_loop as a process, a bare
loop of confluent-kafka and fastavro, the same N records produced to a fresh topic of
the same shape, decoded and written as one HSET (and its PUBLISH) per record, pipelined
per batch. Both sides run side by side for the whole benchmark, so the latency runs
(benchmarks.latency) use them too.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, cast
from uuid import uuid4

from confluent_kafka import Message, Producer

# confluent_kafka.admin re-exports NewTopic without listing it, which mypy --strict flags.
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from redis import Redis
from redis.cluster import RedisCluster

from benchmarks.processes import cpu_seconds, settings_env, start, stop
from ostock.commands import Issuer, organization_command
from ostock.contract import Codec
from ostock.deployables import PROCESSES
from ostock.kafka.config import producer_config
from ostock.settings import Settings
from ostock.views.client import names_cluster
from ostock.views.generations import live_generations
from ostock.views.keys import Keys, generations_key

#: A benchmark's own client of one Redis or of a Redis Cluster (never logged in: the
#: benchmarks run without ACLs).
SyncRedis = Redis | RedisCluster
Record = tuple[bytes, bytes, list[tuple[str, str | bytes | None]]]
WORKERS = ("organization-handler", "organization-projector")
WAIT_TIMEOUT_S = 120.0
#: Names in a Run's cpu_us: Redis's, and the bare loop process's.
REDIS = "Redis"
BARE_LOOP = "bare loop"


@dataclass(frozen=True)
class Side:
    """One side of the comparison, running: where it takes commands, the key base of its
    views, and its processes' pids by name."""

    topic: str
    base: str
    pids: dict[str, int]


def commands(codec: Codec, count: int) -> tuple[list[str], list[Record]]:
    """`count` encoded CreateOrganization commands and their organization ids."""
    ids = [str(uuid4()) for _ in range(count)]
    records: list[Record] = []
    for organization_id in ids:
        details = {"name": "Bench", "contact_name": "", "contact_email": "", "contact_phone": ""}
        command = organization_command("create", organization_id, Issuer("bench"), details)
        value = codec.write(command)
        correlation = command.meta.correlation_id.encode()
        records.append((organization_id.encode(), value, [("correlation-id", correlation)]))
    return ids, records


def produce_all(producer: Producer, topic: str, records: list[Record]) -> dict[int, bytes]:
    """Produce every record and wait for the acks; the key of the last record of each
    partition."""
    last: dict[int, bytes] = {}

    def delivered(error: object, message: Message) -> None:
        # Delivery reports come in order within a partition: the last one stays.
        if error is None:
            last[cast(int, message.partition())] = cast(bytes, message.key())

    for key, value, headers in records:
        while True:
            try:
                producer.produce(
                    topic, key=key, value=value, headers=headers, on_delivery=delivered
                )
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    if producer.flush(30):
        raise RuntimeError("the broker did not take every record")
    return last


def wait_for_keys(redis: SyncRedis, last: list[str], every: list[str]) -> None:
    """Wait until every key exists. Polled: only the last record's key of each partition
    (handler and projector keep a partition's order, so the others come before it), then
    every key once. Polling every key each time would take a sizeable share of this
    2-core machine from the side measured, the more the slower the side."""
    deadline = time.monotonic() + WAIT_TIMEOUT_S
    for pending in (last, every):
        while pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(pending)} views missing after {WAIT_TIMEOUT_S} s")
            pipe = redis.pipeline(transaction=False)
            for key in pending:
                pipe.exists(key)
            found = pipe.execute()
            pending = [key for key, there in zip(pending, found, strict=True) if not there]
            if pending:
                time.sleep(0.005)


def redis_of(settings: Settings) -> SyncRedis:
    """A client of the Redis `settings.redis_url` names: a cluster client on a Redis
    Cluster (which one, ostock.views.client says)."""
    if names_cluster(settings):
        return RedisCluster.from_url(settings.redis_url)
    return Redis.from_url(settings.redis_url)


def view_keys(redis: SyncRedis, base: str) -> Keys:
    """The keys of the live generations under `base` (g0 in a fresh benchmark)."""
    state = cast(dict[bytes, bytes], redis.hgetall(generations_key(base)))
    return Keys(base, live_generations(state))


@contextmanager
def system(settings: Settings, logs: Path) -> Iterator[Side]:
    """The organization handler and projector as processes, warmed up by one command."""
    env = settings_env(settings)
    processes = {
        name: start(["-m", "ostock", *PROCESSES[name]], env, logs / f"{name}.log")
        for name in WORKERS
    }
    side = Side(
        settings.topics.organization_commands,
        settings.redis_prefix,
        {name: process.pid for name, process in processes.items()},
    )
    try:
        run(settings, side, 1)
        yield side
    finally:
        for process in processes.values():
            stop(process)


@contextmanager
def bare(settings: Settings, logs: Path) -> Iterator[Side]:
    """benchmarks.bare_loop on a fresh topic of the commands topic's shape, warmed up by
    one command."""
    topic = f"bench-bare-{uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    admin.create_topics([NewTopic(topic, settings.topic_partitions, 1)])[topic].result(30)
    base = f"{settings.redis_prefix}-bare"
    process = start(
        ["-m", "benchmarks.bare_loop", topic, base], settings_env(settings), logs / "bare.log"
    )
    side = Side(topic, base, {BARE_LOOP: process.pid})
    try:
        run(settings, side, 1)
        yield side
    finally:
        stop(process)
        admin.delete_topics([topic])


class Run(NamedTuple):
    """One run through a side: its rate, an organization whose view now exists, and the
    CPU (user + system) each of the side's processes and Redis used per command, in µs."""

    rate: float
    organization_id: str
    cpu_us: dict[str, float]


def run(settings: Settings, side: Side, count: int) -> Run:
    """Commands per second through a running side, from the first publish until the last
    view exists."""
    ids, records = commands(Codec(), count)
    producer = Producer(producer_config(settings))
    with redis_of(settings) as redis:
        keys = view_keys(redis, side.base)
        used = _cpu_seconds(redis, side)
        started = time.perf_counter()
        last = produce_all(producer, side.topic, records)
        wait_for_keys(
            redis,
            [keys.organization(key.decode()) for key in last.values()],
            [keys.organization(organization_id) for organization_id in ids],
        )
        elapsed = time.perf_counter() - started
        cpu_us = {
            name: (seconds - used[name]) * 1e6 / count
            for name, seconds in _cpu_seconds(redis, side).items()
        }
        return Run(count / elapsed, ids[-1], cpu_us)


def _cpu_seconds(redis: SyncRedis, side: Side) -> dict[str, float]:
    """The CPU time each of the side's processes, and Redis (every node of a cluster), has
    used so far."""
    used = {name: cpu_seconds(pid) for name, pid in side.pids.items()}
    if isinstance(redis, RedisCluster):
        nodes = [
            cast(dict[str, float], redis.info("cpu", target_nodes=node))
            for node in redis.get_nodes()  # type: ignore[no-untyped-call]
        ]
    else:
        nodes = [cast(dict[str, float], redis.info("cpu"))]
    used[REDIS] = sum(info["used_cpu_user"] + info["used_cpu_sys"] for info in nodes)
    return used
