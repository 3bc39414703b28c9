"""One replay, or its baseline, in a process of its own so that its peak RSS is its alone:
`python -m benchmarks.replay_child rebuild|decode`, settings from the environment.

rebuild: ostock.replay.rebuild.rebuild of every read model, what `ostock replay` runs.
decode: the baseline, the same log read and decoded with no writes: a confluent-kafka
consumer of the same configuration as the replay's (ostock.replay.log), the same batch
size and poll, the project's Codec as the replay builds it.

Prints one JSON object: events, seconds (time spent reading, decoding and for rebuild
applying, as `ostock replay` reports it), events_per_s, wall_s, peak_rss_mib; progress
lines on stderr.
"""

import asyncio
import json
import resource
import sys
import time
from typing import Any, cast
from uuid import uuid4

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from ostock.kafka.config import consumer_config
from ostock.kafka.schema_registry import registry_codec
from ostock.replay.rebuild import POLL_S, rebuild
from ostock.settings import Settings
from ostock.views.client import redis_client
from ostock.views.models import READ_MODELS

PROGRESS_EVERY_S = 5.0


class Progress:
    """A progress line on stderr at most every PROGRESS_EVERY_S."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.shown = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        if time.monotonic() - self.shown >= PROGRESS_EVERY_S:
            self.shown = time.monotonic()
            print(f"  {self.what}: {done:,}/{total:,} events", file=sys.stderr, flush=True)


async def rebuilt(settings: Settings) -> dict[str, Any]:
    """Every read model rebuilt from the log and switched to."""
    async with redis_client(settings) as redis:
        stats = await rebuild(settings, redis, list(READ_MODELS.values()), Progress("replay"))
    return {"events": stats.events, "seconds": stats.seconds, "applied": stats.applied}


def decoded(settings: Settings) -> dict[str, Any]:
    """The replay's topics read from offset 0 to their end and decoded, nothing written."""
    topics = sorted({model.topic(settings.topics) for model in READ_MODELS.values()})
    expected = frozenset().union(*(model.events.names for model in READ_MODELS.values()))
    group = f"{settings.redis_prefix}.decode.{uuid4().hex}"
    consumer = Consumer(consumer_config(settings, group, **{"enable.partition.eof": True}))
    metadata = consumer.list_topics(timeout=settings.kafka_timeout_s)
    partitions = [
        TopicPartition(topic, partition, OFFSET_BEGINNING)
        for topic in topics
        for partition in sorted(metadata.topics[topic].partitions)
    ]
    consumer.assign(partitions)
    codec = registry_codec(settings)
    progress = Progress("decode")
    pending = {(p.topic, p.partition) for p in partitions}
    events, seconds = 0, 0.0
    while pending:
        started = time.monotonic()
        for message in consumer.consume(settings.replay_batch_size, timeout=POLL_S):
            error = message.error()
            if error is None:
                codec.decode(cast(bytes, message.value()), expected)
                events += 1
            elif error.code() == KafkaError._PARTITION_EOF:
                pending.discard((cast(str, message.topic()), cast(int, message.partition())))
            else:
                raise KafkaException(error)
        seconds += time.monotonic() - started
        progress(events, events)
    consumer.close()
    return {"events": events, "seconds": seconds}


def main() -> None:
    mode = sys.argv[1]
    settings = Settings()
    started = time.perf_counter()
    result = asyncio.run(rebuilt(settings)) if mode == "rebuild" else decoded(settings)
    result["wall_s"] = time.perf_counter() - started
    result["events_per_s"] = result["events"] / result["seconds"] if result["seconds"] else 0.0
    # ru_maxrss is in KiB on Linux.
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


if __name__ == "__main__":
    main()
