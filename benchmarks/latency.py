"""Command-to-view latency at a fixed offered rate, open loop.

CreateOrganization commands are sent on a fixed schedule (`rate` per second), never
waiting for an answer; a listener subscribed to the views' channels (read-models/
README.md, "Change notifications": the projector PUBLISHes each applied view on its key
with the version) notes when each view shows up. Latency = that moment minus the
command's scheduled send time: a sender that falls behind its schedule counts against
the system, not in its favour. The same run on either side of benchmarks.pipeline.

On a Redis Cluster the views are announced with sharded pub/sub, which takes no
pattern: `polled_run` notes instead when each view's key first exists, polling the keys
of the commands sent and not yet seen every POLL_S (latency over by up to that and one
round trip), on one Redis or a cluster alike.
"""

import threading
import time
from dataclasses import dataclass

from confluent_kafka import Producer
from redis import Redis
from redis.client import PubSub

from benchmarks.pipeline import (
    WAIT_TIMEOUT_S,
    Record,
    Side,
    SyncRedis,
    commands,
    redis_of,
    view_keys,
)
from ostock.contract import Codec
from ostock.kafka.config import producer_config
from ostock.settings import Settings

LEAD_S = 0.1  # between building the schedule and its first send
POLL_S = 0.002


@dataclass(frozen=True)
class Offered:
    """A fixed offered rate held for a while."""

    rate: float
    seconds: float


def offered_run(settings: Settings, side: Side, offered: Offered) -> dict[str, float]:
    """One open-loop run; p50, p99 and max latency in ms, with the counts."""
    count = max(1, round(offered.rate * offered.seconds))
    ids, records = commands(Codec(), count)
    with Redis.from_url(settings.redis_url) as redis:
        keys = view_keys(redis, side.base)
        index = {keys.organization(i).encode(): n for n, i in enumerate(ids)}
        pubsub = redis.pubsub()
        pubsub.psubscribe(keys.organization("*"))
        _confirmed(pubsub)
        arrived = [0.0] * count
        done = threading.Event()
        listener = threading.Thread(target=_listen, args=(pubsub, index, arrived, done))
        listener.start()
        scheduled = _schedule(count, offered.rate)
        try:
            _send(Producer(producer_config(settings)), side.topic, records, scheduled)
            deadline = time.monotonic() + WAIT_TIMEOUT_S
            while not all(arrived) and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            done.set()
            listener.join()
            pubsub.close()
    return _summary(offered, side, arrived, scheduled)


def polled_run(settings: Settings, side: Side, offered: Offered) -> dict[str, float]:
    """One open-loop run as `offered_run`, each view seen by polling its key."""
    count = max(1, round(offered.rate * offered.seconds))
    ids, records = commands(Codec(), count)
    scheduled = _schedule(count, offered.rate)
    arrived = [0.0] * count
    with redis_of(settings) as redis:
        keys = view_keys(redis, side.base)
        names = [keys.organization(organization_id) for organization_id in ids]
        done = threading.Event()
        poller = threading.Thread(target=_poll, args=(redis, names, scheduled, arrived, done))
        poller.start()
        try:
            _send(Producer(producer_config(settings)), side.topic, records, scheduled)
            poller.join(WAIT_TIMEOUT_S)
        finally:
            done.set()
            poller.join()
    return _summary(offered, side, arrived, scheduled)


def _summary(
    offered: Offered, side: Side, arrived: list[float], scheduled: list[float]
) -> dict[str, float]:
    """p50, p99 and max latency in ms of the views seen, with the counts."""
    count = len(scheduled)
    latencies = sorted(
        (at - sent) * 1000 for at, sent in zip(arrived, scheduled, strict=True) if at
    )
    if not latencies:
        raise TimeoutError(f"no view of {count} commands showed up on {side.topic}")
    seen = len(latencies)
    return {
        "offered_per_s": offered.rate,
        "sent": count,
        "seen": seen,
        "missing": count - seen,
        "p50_ms": latencies[seen // 2],
        "p99_ms": latencies[min(seen - 1, int(seen * 0.99))],
        "max_ms": latencies[-1],
    }


def _poll(
    redis: SyncRedis,
    names: list[str],
    scheduled: list[float],
    arrived: list[float],
    done: threading.Event,
) -> None:
    """Note when each view's key first exists, asking only for those due and not seen."""
    due = 0
    pending: list[int] = []
    while not done.is_set() and (due < len(names) or pending):
        now = time.perf_counter()
        while due < len(names) and scheduled[due] <= now:
            pending.append(due)
            due += 1
        if pending:
            pipe = redis.pipeline(transaction=False)
            for n in pending:
                pipe.exists(names[n])
            found = pipe.execute()
            seen_at = time.perf_counter()
            for n, there in zip(pending, found, strict=True):
                if there:
                    arrived[n] = seen_at
            pending = [n for n, there in zip(pending, found, strict=True) if not there]
        time.sleep(POLL_S)


def _confirmed(pubsub: PubSub) -> None:
    """Wait for Redis to confirm the subscription: nothing published before it counts."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.5)
        if message is not None and message["type"] == "psubscribe":
            return
    raise TimeoutError("Redis did not confirm the subscription")


def _listen(
    pubsub: PubSub, index: dict[bytes, int], arrived: list[float], done: threading.Event
) -> None:
    """Note when each view is first announced."""
    while not done.is_set():
        message = pubsub.get_message(timeout=0.05)
        if message is None or message["type"] != "pmessage":
            continue
        now = time.perf_counter()
        n = index.get(message["channel"])
        if n is not None and not arrived[n]:
            arrived[n] = now


def _schedule(count: int, rate: float) -> list[float]:
    """When each of `count` commands is due, `rate` per second from LEAD_S on."""
    started = time.perf_counter() + LEAD_S
    return [started + n / rate for n in range(count)]


def _send(producer: Producer, topic: str, records: list[Record], scheduled: list[float]) -> None:
    """Produce each record at its scheduled moment."""
    for at, (key, value, headers) in zip(scheduled, records, strict=True):
        delay = at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        while True:
            try:
                producer.produce(topic, key=key, value=value, headers=headers)
                break
            except BufferError:
                producer.poll(0.001)
        producer.poll(0)
    if producer.flush(30):
        raise RuntimeError("the broker did not take every command")
