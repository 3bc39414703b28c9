"""Producing and waiting for the acks: a record missing or refused raises the caller's error."""

from collections.abc import Callable
from typing import Any, cast

import pytest
from confluent_kafka import KafkaError, Message

from ostock.kafka.delivery import Outgoing, deliver


class Refused(RuntimeError):
    pass


class FakeProducer:
    """Acks each record at the next poll or flush, refusing those keyed b"bad"; keeps
    `stuck` records unacknowledged at flush."""

    def __init__(self, stuck: int = 0) -> None:
        self.stuck = stuck
        self.produced: list[tuple[str, bytes | None, int]] = []
        self.purged = False
        self._pending: list[tuple[Callable[[Any, Any], None], Message]] = []

    def produce(self, topic: str, key: bytes, partition: int, on_delivery: Any, **_: Any) -> None:
        self.produced.append((topic, key, partition))
        self._pending.append((on_delivery, Message(topic=topic, key=key)))

    def poll(self, timeout: float) -> int:
        pending, self._pending = self._pending, []
        for delivered, message in pending:
            refused = KafkaError(KafkaError.MSG_SIZE_TOO_LARGE) if message.key() == b"bad" else None
            delivered(refused, message)
        return len(pending)

    def flush(self, timeout: float) -> int:
        self.poll(timeout)
        return self.stuck

    def purge(self) -> None:
        self.purged = True


def records(*keys: bytes) -> list[Outgoing]:
    return [Outgoing("t", key, b"v", [], 2) for key in keys]


def test_every_record_acknowledged_is_counted() -> None:
    producer = FakeProducer()

    count = deliver(cast(Any, producer), records(b"a", b"b"), 1.0, "things", Refused)

    assert count == 2
    assert producer.produced == [("t", b"a", 2), ("t", b"b", 2)]


def test_a_refused_record_raises_the_callers_error_naming_it() -> None:
    with pytest.raises(Refused) as caught:
        deliver(cast(Any, FakeProducer()), records(b"a", b"bad"), 1.0, "things", Refused)

    message = str(caught.value)
    assert message.startswith("0 things unconfirmed, 1 failed: [")
    assert "bad" in message and "MSG_SIZE_TOO_LARGE" in message


def test_records_not_acknowledged_in_time_raise_and_are_purged_if_asked() -> None:
    kept, purged = FakeProducer(stuck=1), FakeProducer(stuck=1)

    with pytest.raises(Refused, match="1 things unconfirmed, 0 failed"):
        deliver(cast(Any, kept), records(b"a"), 1.0, "things", Refused)
    with pytest.raises(Refused):
        deliver(cast(Any, purged), records(b"a"), 1.0, "things", Refused, purge=True)

    assert (kept.purged, purged.purged) == (False, True)
