"""The real projectors as processes (`python -m streams NAME`) for integration tests: each
scenario with topics and a key prefix of its own, records produced with confluent-kafka.
And, for tests that write views without Kafka, records projected as those projectors
project them (ViewWriter.project)."""

import itertools
import subprocess
import sys
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

from confluent_kafka import Message, Producer

from ostock.contract.records import Event
from ostock.infra.topics import ensure_topics
from ostock.kafka.config import producer_config
from ostock.settings import Settings, Topics, settings_env
from ostock.views.models import READ_MODELS, Positioned
from ostock.views.writer import ViewWriter

WAIT_S = 60.0
#: A Kafka record as produced: key and value.
KafkaRecord = tuple[bytes, bytes]


def fresh(settings: Settings, data_dir: Path, **update: Any) -> Settings:
    """`settings` with topics and a key prefix of their own, the topics created."""
    tag = uuid4().hex[:8]
    topics = Topics(**{field: f"{name}.{tag}" for field, name in settings.topics})
    prefix = f"projector-{tag}"
    own = settings.model_copy(
        update={"topics": topics, "redis_prefix": prefix, "data_dir": data_dir} | update
    )
    ensure_topics(own)
    return own


@dataclass
class Projector:
    """`python -m streams NAME` as a child process, its output in a log file."""

    name: str
    settings: Settings
    log: Path
    process: "subprocess.Popen[bytes] | None" = None

    def start(self) -> "Projector":
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streams", self.name],
                env=settings_env(self.settings),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def stop(self) -> int:
        """SIGTERM, as an operator stops it; its exit code."""
        assert self.process is not None
        self.process.terminate()
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise

    def wait_for(self, what: str, found: Callable[[], Any]) -> Any:
        """Poll `found` until it returns something true, while this projector runs."""
        deadline = time.monotonic() + WAIT_S
        while not (result := found()):
            assert self.process is not None and self.process.poll() is None, (
                f"{self.name} exited: {self.output()[-3000:]}"
            )
            assert time.monotonic() < deadline, f"no {what} in {WAIT_S}s: {self.output()[-3000:]}"
            time.sleep(0.05)
        return result

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def produce(settings: Settings, topic: str, records: list[KafkaRecord]) -> list[Message]:
    """Produce (key, value) records in order; their delivery reports."""
    delivered: list[Message] = []
    producer = Producer(producer_config(settings))
    for key, value in records:
        producer.produce(
            topic,
            key=key,
            value=value,
            headers=[("correlation-id", b"test")],
            on_delivery=lambda error, message: delivered.append(message),
        )
    assert producer.flush(10) == 0
    assert all(message.error() is None for message in delivered)
    return delivered


# The log that `logged` records come from: its offsets increase for the whole session, as
# those of one partition do.
_offsets = itertools.count()


def next_offset() -> int:
    """An offset above every one given so far."""
    return next(_offsets)


def logged(
    *records: Event, topic: str = "test-events", partition: int = 0
) -> list[Positioned[Event]]:
    """`records` as if read in this order from one partition, at increasing offsets."""
    return [Positioned(record, topic, partition, next_offset()) for record in records]


async def project(
    writer: ViewWriter, *records: Event, models: Collection[str] = tuple(READ_MODELS)
) -> int:
    """Apply `records` as the live projectors of `models` do: each model gets those it
    takes, in order, in one call. Returns how many writes the live generations took."""
    read = logged(*records)
    applied = 0
    for name in models:
        model = READ_MODELS[name]
        taken = [
            positioned for positioned in read if isinstance(positioned.record, model.events.types)
        ]
        if taken:
            applied += await writer.project(name, model.project(taken))
    return applied
