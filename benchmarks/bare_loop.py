"""The pipeline's baseline as a process of its own: `python -m benchmarks.bare_loop TOPIC BASE`.

A bare confluent-kafka + fastavro loop: consume the commands of TOPIC (every partition,
from the start), decode each with the project's Codec, write its view (one HSET of the
same key shape as the projector's, under key base BASE) and announce it like the
projector does (PUBLISH <view key> <version>), one pipelined Redis round trip per batch,
batches of what has arrived, as big at most as the projector's. Settings (Kafka, Redis, batch)
from the environment; runs until SIGTERM.
"""

import json
import signal
import sys
import threading

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from redis import Redis

from ostock.contract import Codec
from ostock.settings import Settings
from ostock.views.keys import Keys


def main() -> None:
    topic, base = sys.argv[1], sys.argv[2]
    settings = Settings()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    consumer = Consumer(
        {"bootstrap.servers": settings.kafka_bootstrap, "group.id": f"bench-bare-{topic}"}
        | {"enable.auto.commit": False}
    )
    partitions = consumer.list_topics(topic, timeout=settings.kafka_timeout_s).topics[topic]
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions.partitions])
    codec, keys = Codec(), Keys(base)
    with Redis.from_url(settings.redis_url) as redis:
        while not stopping.is_set():
            # What has arrived, as the projector takes it: no wait to fill a batch.
            first = consumer.poll(0.1)
            if first is None:
                continue
            rest = consumer.consume(settings.projector_batch_size - 1, timeout=0)
            messages = [first, *rest]
            pipe = redis.pipeline(transaction=False)
            for message in messages:
                if message.error() is not None:
                    continue
                fields = codec.decode(message.value()).fields
                key = keys.organization(fields["meta"]["aggregate_id"])
                pipe.hset(key, mapping={"version": 1, "body": json.dumps(fields, default=str)})
                pipe.publish(key, 1)
            pipe.execute()
    consumer.close()


if __name__ == "__main__":
    main()
