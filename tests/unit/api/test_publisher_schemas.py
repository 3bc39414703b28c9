"""The API registers its schemas once, before its first command goes out."""

from collections.abc import Callable
from typing import Any, cast

import pytest
from confluent_kafka import Producer

from api.publisher import CommandPublisher, KafkaUnavailable
from ostock.kafka.config import Headers
from ostock.kafka.delivery import Outgoing
from ostock.settings import Settings


class FakeProducer:
    """Takes every record at once: its delivery callbacks run at the next poll."""

    def __init__(self) -> None:
        self.produced: list[str] = []
        self._pending: list[Callable[[Any, Any], None]] = []

    def produce(self, topic: str, on_delivery: Callable[[Any, Any], None], **_: Any) -> None:
        self.produced.append(topic)
        self._pending.append(on_delivery)

    def poll(self, timeout: float = 0) -> int:
        pending, self._pending = self._pending, []
        for delivered in pending:
            delivered(None, None)
        return len(pending)

    def flush(self, timeout: float = 0) -> int:
        self.poll()
        return 0


def publisher(producer: FakeProducer, register: Callable[[], object]) -> CommandPublisher:
    # Duck-typed: the calls CommandPublisher makes of a Producer.
    settings = Settings(kafka_timeout_s=1.0)
    return CommandPublisher(cast(Producer, producer), settings, register_schemas=register)


async def test_the_schemas_are_registered_once_before_the_first_command() -> None:
    producer = FakeProducer()
    registered: list[list[str]] = []
    commands = publisher(producer, lambda: registered.append(list(producer.produced)))

    async with commands:
        await commands.publish(command("r1"))
        await commands.publish(command("r2"))

    assert registered == [[]]  # once, and before any command
    assert producer.produced == ["commands", "commands"]


async def test_no_command_goes_out_while_the_schemas_are_not_registered() -> None:
    producer = FakeProducer()
    answers = iter([RuntimeError("3 schemas unconfirmed"), None])

    def register() -> None:
        error = next(answers)
        if error is not None:
            raise error

    commands = publisher(producer, register)
    async with commands:
        with pytest.raises(KafkaUnavailable):
            await commands.publish(command("r1"))
        assert producer.produced == []
        await commands.publish(command("r2"))  # tried again: taken

    assert producer.produced == ["commands"]


def command(correlation_id: str) -> Outgoing:
    """A command record as the API hands it to its publisher."""
    headers: Headers = [("correlation-id", correlation_id.encode()), ("traceparent", b"tp")]
    return Outgoing("commands", b"org-1", b"v", headers)
