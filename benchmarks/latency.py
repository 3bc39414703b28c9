"""Command-to-view latency at a fixed offered rate, open loop.

CreateOrganization commands are sent on a fixed schedule (`rate` per second), never
waiting for an answer; a listener subscribed to the views' channels (read-models/
README.md, "Change notifications": the projector PUBLISHes each applied view on its key
with the version) notes when each view shows up. Latency = that moment minus the
command's scheduled send time: a sender that falls behind its schedule counts against
the system, not in its favour. The same run on either side of benchmarks.pipeline.
"""

import threading
import time
from dataclasses import dataclass

from confluent_kafka import Producer
from redis import Redis
from redis.client import PubSub

from benchmarks.pipeline import WAIT_TIMEOUT_S, Record, Side, commands, view_keys
from ostock.contract import Codec
from ostock.kafka.config import producer_config
from ostock.settings import Settings

LEAD_S = 0.1  # between building the schedule and its first send


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
        try:
            scheduled = _send(Producer(producer_config(settings)), side.topic, records, offered)
            deadline = time.monotonic() + WAIT_TIMEOUT_S
            while not all(arrived) and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            done.set()
            listener.join()
            pubsub.close()
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


def _send(producer: Producer, topic: str, records: list[Record], offered: Offered) -> list[float]:
    """Produce each record at its scheduled moment; the schedule."""
    started = time.perf_counter() + LEAD_S
    scheduled = [started + n / offered.rate for n in range(len(records))]
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
    return scheduled
