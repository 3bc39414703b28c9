"""librdkafka's statistics as gauges: round trips in seconds per broker known by id, the
producer's queue; and a real client configured for them reports them."""

import json
import time
from typing import Any
from uuid import uuid4

from confluent_kafka import Producer
from prometheus_client import REGISTRY

from ostock.kafka.config import producer_config, statistics_config
from ostock.kafka.statistics import record_statistics
from ostock.settings import Settings

RTT = "ostock_kafka_broker_rtt_seconds"
QUEUE = "ostock_kafka_queue_messages"


def broker(nodeid: int, source: str, cnt: int, avg: int, p99: int) -> dict[str, Any]:
    """A broker of librdkafka's statistics, its window's times in microseconds."""
    return {
        "name": f"127.0.0.1:9092/{nodeid if nodeid >= 0 else source}",
        "nodeid": nodeid,
        "source": source,
        "state": "UP",
        "rtt": {"min": 1, "max": p99, "avg": avg, "sum": avg * cnt, "cnt": cnt, "p99": p99},
    }


def report(name: str, kind: str, msg_cnt: int, *brokers: dict[str, Any]) -> str:
    return json.dumps(
        {
            "name": name,
            "client_id": name.split("#")[0],
            "type": kind,
            "msg_cnt": msg_cnt,
            "brokers": {b["name"]: b for b in brokers},
        }
    )


def sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def test_round_trips_are_in_seconds_per_broker_id_and_the_producer_queue_is_counted() -> None:
    client = f"test-{uuid4().hex[:6]}#producer-1"
    record_statistics(
        report(
            client,
            "producer",
            7,
            broker(1, "learned", cnt=12, avg=1500, p99=4000),
            broker(2, "learned", cnt=3, avg=250, p99=900),
        )
    )
    assert sample(RTT, client=client, broker="1", quantile="avg") == 0.0015
    assert sample(RTT, client=client, broker="1", quantile="0.99") == 0.004
    assert sample(RTT, client=client, broker="2", quantile="avg") == 0.00025
    assert sample(QUEUE, client=client) == 7


def test_brokers_without_an_id_and_windows_without_a_round_trip_are_left_out() -> None:
    client = f"test-{uuid4().hex[:6]}#consumer-2"
    record_statistics(
        report(
            client,
            "consumer",
            0,
            broker(-1, "configured", cnt=4, avg=800, p99=900),
            broker(-1, "logical", cnt=2, avg=700, p99=800),
            broker(1, "learned", cnt=0, avg=0, p99=0),
        )
    )
    found = [
        s
        for metric in REGISTRY.collect()
        for s in metric.samples
        if s.labels.get("client") == client
    ]
    assert found == []  # and a consumer has no producer queue


def test_a_client_configured_for_statistics_reports_its_queue() -> None:
    settings = Settings(kafka_bootstrap="127.0.0.1:1", kafka_statistics_s=0.05)
    name = f"test-{uuid4().hex[:6]}"
    producer = Producer(
        producer_config(settings, **{"client.id": name}, **statistics_config(settings))
    )
    for _ in range(3):  # never delivered: nothing listens on port 1
        producer.produce("a-topic", b"value")

    def queued() -> list[float]:
        return [
            s.value
            for metric in REGISTRY.collect()
            for s in metric.samples
            if s.name == QUEUE and s.labels["client"].startswith(f"{name}#producer-")
        ]

    deadline = time.monotonic() + 10
    while not queued():
        assert time.monotonic() < deadline, "no statistics in 10s"
        producer.poll(0.05)
    assert queued() == [3]
    producer.purge()


def test_statistics_are_off_at_zero() -> None:
    assert statistics_config(Settings(kafka_statistics_s=0)) == {}
