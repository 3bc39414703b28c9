"""The command handler's failures: an infrastructure failure is retried and never
dead-lettered; a command whose decision keeps failing otherwise is dead-lettered with
its error after ATTEMPTS tries, and the commands beside it are decided."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast
from uuid import uuid4

import pytest
from confluent_kafka import Message

from ostock import deadletters as dlq
from ostock.commands import Issuer, organization_command
from ostock.contract import Codec, Record
from ostock.domain.aggregate import Issued
from ostock.handlers.application import CommandApplication
from ostock.handlers.runner import ATTEMPTS, CommandHandler, HandlerSpec
from ostock.kafka import Headers, header
from ostock.settings import Settings

TOPIC = "ostock.organization.commands"
Produced = tuple[str, dict[str, Any]]


class FakeLog:
    """The events log's transaction: what is produced inside an aborted one is gone."""

    def __init__(self) -> None:
        self.committed: list[Produced] = []
        self._pending: list[Produced] = []

    @contextmanager
    def transaction(self) -> Iterator["FakeLog"]:
        self._pending = []
        yield self
        self.committed += self._pending

    def produce(self, topic: str, **record: Any) -> None:
        self._pending.append((topic, record))

    def send_offsets_to_transaction(self, *_: object) -> None:
        pass

    def load(self, partitions: list[int]) -> int:
        return 0


class FakeApplication:
    """Decides every command as version 1, but fails for the names in `failing`."""

    def __init__(self, failing: dict[str, Exception]) -> None:
        self.event_log = FakeLog()
        self.failing = failing

    def before_batch(self) -> None:
        pass

    def assigned(self, partitions: list[int]) -> None:
        pass

    def handle(self, command: Record, issued: Issued, headers: Headers) -> int:
        failure = self.failing.get(command.fields["name"])
        if failure is not None:
            raise failure
        return 1


class FakeConsumer:
    def consumer_group_metadata(self) -> object:
        return object()

    def seek(self, partition: object) -> None:
        pass

    def assignment(self) -> list[object]:
        return []


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ostock.handlers.runner.time.sleep", lambda _: None)


def handler(application: FakeApplication) -> CommandHandler:
    spec = HandlerSpec("organization-service", TOPIC, ["ostock.organization.CreateOrganization"])
    app = cast(CommandApplication, application)
    handler = CommandHandler(Settings(), spec, app, Codec(), "unit")
    handler.consumer.close()  # never used: no broker here
    handler.consumer = cast(Any, FakeConsumer())
    return handler


def commands(*names: str) -> list[Message]:
    codec = Codec()
    batch = []
    for offset, name in enumerate(names):
        command = organization_command("create", str(uuid4()), Issuer("test"), {"name": name})
        value = codec.encode(command.name, command.fields)
        batch.append(Message(topic=TOPIC, partition=0, offset=offset, key=b"k", value=value))
    return batch


def outcome(log: FakeLog) -> list[str]:
    """What each committed record says: a result's status or a dead letter's reason."""
    said = []
    for topic, record in log.committed:
        if topic == Settings().topics.dead_letters:
            said.append(f"dead: {header(record['headers'], dlq.REASON)}")
        else:
            said.append(Codec().decode(record["value"]).fields["status"])
    return said


def test_a_command_whose_decision_keeps_failing_is_dead_lettered_with_its_error() -> None:
    application = FakeApplication({"Bug": RuntimeError("a bug")})
    batch = commands("Acme", "Bug", "Initech")
    subject = handler(application)

    for _ in range(ATTEMPTS):
        subject._process(batch)
        assert application.event_log.committed == []  # each try aborted as a whole
    subject._process(batch)

    assert outcome(application.event_log) == ["accepted", "dead: handler-error", "accepted"]
    _, letter = application.event_log.committed[1]
    assert header(letter["headers"], dlq.ERROR) == "RuntimeError: a bug"
    assert header(letter["headers"], dlq.SOURCE_OFFSET) == "1"
    assert letter["value"] == batch[1].value()


def test_an_infrastructure_failure_is_retried_and_never_dead_lettered() -> None:
    application = FakeApplication({"Acme": TimeoutError("Kafka is away")})
    batch = commands("Acme")
    subject = handler(application)

    for _ in range(3 * ATTEMPTS):
        subject._process(batch)
    assert application.event_log.committed == []
    application.failing.clear()  # Kafka is back
    subject._process(batch)

    assert outcome(application.event_log) == ["accepted"]
