"""What `ostock status` reports, and gathering it: each process up or not, each consumer
group's lag, the dead letters, the views' generations and the snapshots.

Kafka, Redis and the processes are asked at once, each question bounded by PROBE_S, so
the report comes in seconds even when some of them are down; what could not be asked
is named in `unreachable`.
"""

import asyncio
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import NamedTuple, TypeVar, cast

import httpx
from confluent_kafka import KafkaException
from redis.exceptions import RedisError

from ostock.deployables import PROCESSES, Instance, consumer_group, instances, metrics_port
from ostock.kafka.cluster_health import ClusterHealth, cluster_health
from ostock.kafka.dead_letter_queue import DeadLetterQueue, DeadLetterQueueError
from ostock.kafka.lag import LagReader, Member, PartitionLag
from ostock.settings import Settings
from ostock.views.client import redis_client
from ostock.views.generations import building_generations, live_generations, snapshots
from ostock.views.keys import FIRST_GENERATION, MODELS, generations_key

#: Bound on each question asked of Kafka, Redis or a process.
PROBE_S = 2.0

T = TypeVar("T")


@dataclass(frozen=True)
class ProcessState:
    """A process of PROCESSES, or a further copy of one (ostock.deployables.Instance):
    whether it serves (its /metrics, the API's /health/live), its consumer group and that
    group's members (None: Kafka did not say)."""

    name: str
    serving: bool
    group: str | None
    members: tuple[Member, ...] | None

    @property
    def up(self) -> bool:
        """It serves and, if it consumes, its group has members."""
        return self.serving and (self.group is None or bool(self.members))


class Letters(NamedTuple):
    """The dead letters of one reason, and how many of them were requeued."""

    total: int
    requeued: int


@dataclass(frozen=True)
class ViewState:
    """A read model: its live generation and the one a replay builds, if any."""

    model: str
    live: str
    building: str | None


@dataclass
class Report:
    """Everything `ostock status` shows."""

    processes: list[ProcessState] = field(default_factory=list)
    lags: list[PartitionLag] = field(default_factory=list)
    dead_letters: dict[str, Letters] = field(default_factory=dict)
    views: list[ViewState] = field(default_factory=list)
    snapshots: dict[str, dict[str, object]] = field(default_factory=dict)
    #: The brokers and partitions the metadata shows (None: Kafka did not answer).
    cluster: ClusterHealth | None = None
    #: "kafka" or "redis", and why it could not be asked.
    unreachable: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class KafkaState:
    cluster: ClusterHealth
    members: dict[str, tuple[Member, ...]]
    lags: list[PartitionLag]
    dead_letters: dict[str, Letters]


@dataclass(frozen=True)
class RedisState:
    views: list[ViewState]
    snapshots: dict[str, dict[str, object]]


def gather(settings: Settings) -> Report:
    """Ask Kafka, Redis and every process (`scale` copies of those that share a group)
    at once, and put their answers together."""
    expected = instances(settings.scale)
    with ThreadPoolExecutor(max_workers=len(expected) + 2) as pool:
        kafka = pool.submit(_attempt, lambda: kafka_state(settings))
        redis = pool.submit(_attempt, lambda: asyncio.run(redis_state(settings)))
        serving = {i: pool.submit(serves, settings, i) for i in expected}
        report = Report()
        kafka_found, kafka_error = kafka.result()
        redis_found, redis_error = redis.result()
    if kafka_error is not None:
        report.unreachable["kafka"] = f"Kafka at {settings.kafka_bootstrap}: {kafka_error}"
    if redis_error is not None:
        report.unreachable["redis"] = f"Redis at {settings.redis_url}: {redis_error}"
    members = kafka_found.members if kafka_found else {}
    for instance, future in serving.items():
        group = consumer_group(settings, instance.process)
        found = members.get(group) if group else ()
        report.processes.append(ProcessState(instance.label, future.result(), group, found))
    if kafka_found:
        report.lags, report.dead_letters = kafka_found.lags, kafka_found.dead_letters
        report.cluster = kafka_found.cluster
    if redis_found:
        report.views, report.snapshots = redis_found.views, redis_found.snapshots
    return report


def serves(settings: Settings, instance: Instance) -> bool:
    """Whether `instance` answers on its port: the API its /health/live, a worker its
    /metrics."""
    path = "/health/live" if instance.process == "api" else "/metrics"
    port = metrics_port(settings, instance.process, instance.copy)
    url = f"http://{settings.api_host}:{port}{path}"
    try:
        return httpx.get(url, timeout=PROBE_S).status_code == 200
    except httpx.HTTPError:
        return False


def kafka_state(settings: Settings) -> KafkaState:
    """The cluster's health, the groups' members and lags, and the dead letters by reason."""
    reader = LagReader(settings, PROBE_S)
    try:
        # Fails at once if no broker answers.
        metadata = reader.admin.list_topics(timeout=PROBE_S)
        groups = [g for name in PROCESSES if (g := consumer_group(settings, name))]
        states = reader.groups(groups, [name for _, name in settings.topics])
    finally:
        reader.close()
    letters = DeadLetterQueue(settings).letters()
    reasons = Counter(letter.reason or "?" for letter in letters)
    requeued = Counter(letter.reason or "?" for letter in letters if letter.requeued_to)
    return KafkaState(
        cluster_health(metadata, settings.kafka_brokers),
        {state.group: state.members for state in states},
        [lag for state in states for lag in state.lags],
        {reason: Letters(n, requeued[reason]) for reason, n in sorted(reasons.items())},
    )


async def redis_state(settings: Settings) -> RedisState:
    """Each view's live generation and replay in progress, and the snapshots."""
    quick = settings.model_copy(update={"redis_timeout_s": min(settings.redis_timeout_s, PROBE_S)})
    async with redis_client(quick) as redis:
        base = settings.redis_prefix
        state = cast(dict[bytes, bytes], await redis.hgetall(generations_key(base)))
        taken = await snapshots(redis, base)
    live, building = live_generations(state), building_generations(state)
    views = [
        ViewState(model, live.get(model, FIRST_GENERATION), building.get(model)) for model in MODELS
    ]
    return RedisState(views, taken)


def _attempt(call: Callable[[], T]) -> tuple[T | None, str | None]:
    """`call`'s answer, or None and why Kafka or Redis did not give one."""
    try:
        return call(), None
    except KafkaException as error:
        return None, error.args[0].str()
    except (DeadLetterQueueError, RedisError, OSError) as error:
        return None, str(error) or type(error).__name__
