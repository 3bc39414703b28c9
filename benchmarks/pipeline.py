"""Pipeline: CreateOrganization commands to organization views in Redis.

Measured: the real organization handler and projector as processes, from the first
publish until the last view exists. Baseline: a bare loop of confluent-kafka and fastavro,
the same N records produced to a fresh topic of the same shape, one consumer thread
decoding them and writing one HSET per record, pipelined per batch.
"""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import uuid4

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

# confluent_kafka.admin re-exports NewTopic without listing it, which mypy --strict flags.
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from redis import Redis

from benchmarks.processes import settings_env, start, stop
from ostock.cli.run import PROCESSES
from ostock.commands import Issuer, organization_command
from ostock.contract import Codec
from ostock.kafka import producer_config
from ostock.settings import Settings
from ostock.views.keys import Keys

Record = tuple[bytes, bytes, list[tuple[str, str | bytes | None]]]
WORKERS = ("organization-handler", "organization-projector")
WAIT_TIMEOUT_S = 120.0
BATCH = 500


def commands(codec: Codec, count: int) -> tuple[list[str], list[Record]]:
    """`count` encoded CreateOrganization commands and their organization ids."""
    ids = [str(uuid4()) for _ in range(count)]
    records: list[Record] = []
    for organization_id in ids:
        details = {"name": "Bench", "contact_name": "", "contact_email": "", "contact_phone": ""}
        command = organization_command("create", organization_id, Issuer("bench"), details)
        value = codec.encode(command.name, command.fields)
        correlation = command.fields["meta"]["correlation_id"].encode()
        records.append((organization_id.encode(), value, [("correlation-id", correlation)]))
    return ids, records


def produce_all(producer: Producer, topic: str, records: list[Record]) -> None:
    """Produce every record and wait for the acks."""
    for key, value, headers in records:
        while True:
            try:
                producer.produce(topic, key=key, value=value, headers=headers)
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    if producer.flush(30):
        raise RuntimeError("the broker did not take every record")


def wait_for_keys(redis: Redis, keys: list[str]) -> None:
    """Poll (pipelined EXISTS) until every key exists."""
    pending = keys
    deadline = time.monotonic() + WAIT_TIMEOUT_S
    while pending:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(pending)} views missing after {WAIT_TIMEOUT_S} s")
        pipe = redis.pipeline(transaction=False)
        for key in pending:
            pipe.exists(key)
        pending = [key for key, found in zip(pending, pipe.execute(), strict=True) if not found]
        if pending:
            time.sleep(0.005)


@contextmanager
def system(settings: Settings, logs: Path) -> Iterator[None]:
    """The organization handler and projector as processes, warmed up by one command."""
    env = settings_env(settings)
    processes = [
        start(["-m", "ostock", *PROCESSES[name]], env, logs / f"{name}.log") for name in WORKERS
    ]
    try:
        system_run(settings, 1)
        yield
    finally:
        for process in processes:
            stop(process)


def system_run(settings: Settings, count: int) -> tuple[float, str]:
    """Commands per second through the running handler and projector, and one organization
    id whose view now exists."""
    ids, records = commands(Codec(), count)
    keys = Keys(settings.redis_prefix)
    producer = Producer(producer_config(settings))
    with Redis.from_url(settings.redis_url) as redis:
        started = time.perf_counter()
        produce_all(producer, settings.topics.organization_commands, records)
        wait_for_keys(redis, [keys.organization(organization_id) for organization_id in ids])
        return count / (time.perf_counter() - started), ids[-1]


def bare_run(settings: Settings, count: int) -> float:
    """Records per second through the bare produce → consume → Redis loop."""
    topic = f"bench-bare-{uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    admin.create_topics([NewTopic(topic, settings.topic_partitions, 1)])[topic].result(30)
    codec = Codec()
    _, records = commands(codec, count)
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": topic,
            "enable.auto.commit": False,
        }
    )
    consumer.assign(
        [TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(settings.topic_partitions)]
    )
    done = threading.Event()
    thread = threading.Thread(target=_consume, args=(consumer, codec, settings, count, done))
    thread.start()
    started = time.perf_counter()
    produce_all(Producer(producer_config(settings)), topic, records)
    finished = done.wait(WAIT_TIMEOUT_S)
    elapsed = time.perf_counter() - started
    thread.join()
    consumer.close()
    admin.delete_topics([topic])
    if not finished:
        raise TimeoutError("the bare loop did not finish")
    return count / elapsed


def _consume(
    consumer: Consumer, codec: Codec, settings: Settings, count: int, done: threading.Event
) -> None:
    seen = 0
    deadline = time.monotonic() + WAIT_TIMEOUT_S
    # Keys of the same shape as the views', under a base of its own.
    keys = Keys(f"{settings.redis_prefix}-bare")
    with Redis.from_url(settings.redis_url) as redis:
        while seen < count and time.monotonic() < deadline:
            messages = consumer.consume(BATCH, timeout=0.1)
            pipe = redis.pipeline(transaction=False)
            for message in messages:
                if message.error() is not None:
                    continue
                fields = codec.decode(message.value()).fields
                body = json.dumps(fields, default=str)
                pipe.hset(
                    keys.organization(fields["meta"]["aggregate_id"]),
                    mapping={"version": 1, "body": body},
                )
                seen += 1
            pipe.execute()
    if seen >= count:
        done.set()
