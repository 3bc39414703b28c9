"""Kafka in integration tests: reading topics (bounded waits, decoded records), killing a node."""

import os
import signal
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition

from ostock.contract import Codec, Record
from ostock.infra.kafka import KafkaBroker
from ostock.kafka.config import consumer_config
from ostock.settings import Settings


def sigkill(node: KafkaBroker) -> None:
    """SIGKILL a Kafka node, as when its machine dies; its pid file goes too."""
    pid = node.pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    node.stop()  # reaps it


def read_until(
    settings: Settings,
    topic: str,
    done: Callable[[list[Message]], bool],
    timeout_s: float = 30.0,
) -> list[Message]:
    """Every committed record of `topic` from the start, once `done(records)` holds."""
    consumer = Consumer(consumer_config(settings, "tests.reader"))
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    records: list[Message] = []
    deadline = time.monotonic() + timeout_s
    try:
        while not done(records):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{topic}: condition not met in {timeout_s}s: {len(records)} records"
                )
            records.extend(m for m in consumer.consume(500, timeout=0.2) if m.error() is None)
    finally:
        consumer.close()
    return records


def decoded(records: list[Message]) -> list[Record]:
    codec = Codec()
    return [codec.decode(m.value()) for m in records]


def all_results(
    settings: Settings, command_ids: set[str], timeout_s: float = 30.0
) -> list[dict[str, Any]]:
    """Every result recorded for the given commands, in order, once each has one."""

    def found(records: list[Message]) -> bool:
        return command_ids <= {(m.key() or b"").decode() for m in records}

    records = read_until(settings, settings.topics.command_results, found, timeout_s)
    # Keyed by command id: only ours are decoded (poison fed by other tests is not).
    mine = [m for m in records if (m.key() or b"").decode() in command_ids]
    return [r.fields for r in decoded(mine) if r.fields["command_id"] in command_ids]


def results_for(
    settings: Settings, command_ids: set[str], timeout_s: float = 30.0
) -> dict[str, dict[str, Any]]:
    """The result of each given command, by command id (waits for all)."""
    return {r["command_id"]: r for r in all_results(settings, command_ids, timeout_s)}
