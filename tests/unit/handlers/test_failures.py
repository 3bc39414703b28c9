"""The command handler's failures: an infrastructure failure is retried and never
dead-lettered; a command whose decision keeps failing otherwise is dead-lettered with
its error after ATTEMPTS tries, and the commands beside it are decided; a batch decided
again counts its decisions once."""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import count
from typing import Any, cast
from uuid import uuid4

import pytest
from confluent_kafka import Message, TopicPartition
from prometheus_client import REGISTRY

from ostock.commands import Issuer, organization_command
from ostock.contract import Codec
from ostock.contract.records import ORGANIZATION_COMMANDS, CreateOrganization
from ostock.domain.aggregate import Issued
from ostock.eventstore.transactions import Outgoing
from ostock.handlers.application import CommandApplication
from ostock.handlers.decider import ATTEMPTS
from ostock.handlers.runner import CommandHandler, HandlerSpec
from ostock.kafka import deadletters as dlq
from ostock.kafka.config import Headers, header, partition_for
from ostock.settings import Settings

TOPIC = "ostock.organization.commands"
PARTITIONS = 3


class FakeLog:
    """The events log's staging and transactions: what a batch stages is committed only
    when it is published."""

    def __init__(self) -> None:
        self.committed: list[Outgoing] = []
        self.commits: list[int] = []  # how many records each commit held
        self.failing_commits = 0
        self.abandoned = 0
        self.open = threading.Event()  # a commit ends once this is set
        self.open.set()
        self.transactions = self

    @contextmanager
    def staging(self) -> Iterator[list[Outgoing]]:
        yield []

    def publish(self, records: list[Outgoing], *_: object) -> None:
        self.open.wait(10)
        if self.failing_commits:
            self.failing_commits -= 1
            raise TimeoutError("the commit timed out")
        self.committed += records
        self.commits.append(len(records))

    def load(self, partitions: list[int]) -> int:
        return 0

    def idle(self) -> None:
        pass

    def abandon(self) -> None:
        self.abandoned += 1

    def repair(self) -> None:
        pass


class FakeApplication:
    """Decides every command as version 1, but fails for the names in `failing`."""

    def __init__(self, failing: dict[str, Exception]) -> None:
        self.event_log = FakeLog()
        self.failing = failing

    def before_batch(self) -> None:
        pass

    def assigned(self, partitions: list[int]) -> None:
        pass

    def handle(self, command: CreateOrganization, issued: Issued, headers: Headers) -> int:
        failure = self.failing.get(command.name)
        if failure is not None:
            raise failure
        return 1


class FakeConsumer:
    """Each consume() call runs the next of `arrivals`, which says what has arrived."""

    def __init__(self) -> None:
        self.seeks: list[tuple[int, int]] = []
        self.arrivals: list[Callable[[], list[Message]]] = []
        self.committed_offsets: dict[int, int] = {}  # the partitions owned, and their offsets

    def consumer_group_metadata(self) -> object:
        return object()

    def consume(self, num_messages: int, timeout: float) -> list[Message]:
        return self.arrivals.pop(0)() if self.arrivals else []

    def seek(self, partition: TopicPartition) -> None:
        self.seeks.append((partition.partition, partition.offset))

    def assignment(self) -> list[TopicPartition]:
        return [TopicPartition(TOPIC, partition) for partition in self.committed_offsets]

    def committed(self, partitions: list[TopicPartition], timeout: float) -> list[TopicPartition]:
        return [
            TopicPartition(TOPIC, p.partition, self.committed_offsets[p.partition])
            for p in partitions
        ]


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ostock.handlers.runner.time.sleep", lambda _: None)


def handler(application: FakeApplication) -> CommandHandler:
    spec = HandlerSpec("organization-service", TOPIC, ORGANIZATION_COMMANDS)
    app = cast(CommandApplication, application)
    handler = CommandHandler(Settings(), spec, app, Codec(), "unit")
    handler.owned.consumer.close()  # never used: no broker here
    handler.owned.consumer = cast(Any, FakeConsumer())
    handler.decider.partitions = PARTITIONS  # run() reads it from the broker
    return handler


def organization_on(partition: int) -> str:
    """A new organization id whose commands belong on `partition`."""
    ids = (str(uuid4()) for _ in count())
    return next(i for i in ids if partition_for(i, PARTITIONS) == partition)


def commands(*names: str, partition: int = 0) -> list[Message]:
    codec = Codec()
    batch = []
    for offset, name in enumerate(names):
        organization_id = organization_on(partition)
        command = organization_command("create", organization_id, Issuer("test"), {"name": name})
        value = codec.write(command)
        batch.append(
            Message(topic=TOPIC, partition=partition, offset=offset, key=b"k", value=value)
        )
    return batch


def decide(subject: CommandHandler, batch: list[Message]) -> None:
    """Process a batch as the loop does, after recovering if it must, and wait for its
    commit, if it gets one."""
    if subject.owned.stale:
        subject.owned.recover()
    subject._process(batch, subject.owned.rebalances)
    subject._settle()


def outcome(log: FakeLog) -> list[str]:
    """What each committed record says: a result's status or a dead letter's reason."""
    said = []
    for record in log.committed:
        if record.topic == Settings().topics.dead_letters:
            said.append(f"dead: {header(record.headers, dlq.REASON)}")
        else:
            said.append(Codec().decode(record.value).fields["status"])
    return said


def test_a_command_whose_decision_keeps_failing_is_dead_lettered_with_its_error() -> None:
    application = FakeApplication({"Bug": RuntimeError("a bug")})
    batch = commands("Acme", "Bug", "Initech")
    subject = handler(application)

    for _ in range(ATTEMPTS):
        decide(subject, batch)
        assert application.event_log.committed == []  # each try aborted as a whole
    decide(subject, batch)

    assert outcome(application.event_log) == ["accepted", "dead: handler-error", "accepted"]
    letter = application.event_log.committed[1]
    assert header(letter.headers, dlq.ERROR) == "RuntimeError: a bug"
    assert header(letter.headers, dlq.SOURCE_OFFSET) == "1"
    assert letter.value == batch[1].value()


def test_an_infrastructure_failure_is_retried_and_never_dead_lettered() -> None:
    application = FakeApplication({"Acme": TimeoutError("Kafka is away")})
    batch = commands("Acme")
    subject = handler(application)

    for _ in range(3 * ATTEMPTS):
        decide(subject, batch)
    assert application.event_log.committed == []
    application.failing.clear()  # Kafka is back
    decide(subject, batch)

    assert outcome(application.event_log) == ["accepted"]


def test_a_failed_commit_is_redone_with_the_batch_decided_after_it() -> None:
    application = FakeApplication({})
    first, second = commands("Acme", "Globex"), commands("Initech", partition=1)
    subject = handler(application)
    consumer = cast(FakeConsumer, subject.owned.consumer)
    consumer.committed_offsets = {0: 0, 1: 0}
    application.event_log.failing_commits = 1

    subject._process(first, 0)  # its commit fails in the committer thread
    subject._process(second, 0)  # decided meanwhile, on top of the first

    assert application.event_log.committed == []
    subject.owned.recover()
    assert consumer.seeks == [(0, 0), (1, 0)]  # both batches consumed again
    decide(subject, [*first, *second])
    assert outcome(application.event_log) == ["accepted"] * 3


def test_a_batch_aborted_and_decided_again_counts_its_decisions_once() -> None:
    application = FakeApplication({})
    subject = handler(application)
    cast(FakeConsumer, subject.owned.consumer).committed_offsets = {0: 0}
    application.event_log.failing_commits = 1
    batch = commands("Acme", "Globex")
    before = handler_counts()

    decide(subject, batch)  # its commit fails: consumed again
    decide(subject, batch)

    counted = {name: handler_counts()[name] - before[name] for name in before}
    assert counted == {"consumed": 4, "accepted": 2, "committed": 1, "aborted": 1, "batches": 1}


def handler_counts() -> dict[str, float]:
    """The unit handler's metrics so far."""
    group = {"messaging_consumer_group_name": "ostock.organization-service"}
    topic = {"messaging_destination_name": TOPIC}
    service = {"service": "organization-service"}
    names = {
        "consumed": ("messaging_client_consumed_messages_total", group | topic),
        "accepted": (
            "ostock_commands_decided_total",
            service | {"outcome": "accepted", "code": ""},
        ),
        "committed": ("ostock_handler_transactions_total", service | {"outcome": "committed"}),
        "aborted": ("ostock_handler_transactions_total", service | {"outcome": "aborted"}),
        "batches": ("messaging_process_duration_seconds_count", group),
    }
    return {
        name: REGISTRY.get_sample_value(metric, labels) or 0.0
        for name, (metric, labels) in names.items()
    }


def test_commands_that_arrive_during_a_commit_join_the_batch_decided_meanwhile() -> None:
    application = FakeApplication({})
    subject = handler(application)
    consumer = cast(FakeConsumer, subject.owned.consumer)
    later = commands("Initech", partition=1)

    def arrived() -> list[Message]:
        application.event_log.open.set()  # the commit in flight ends after this
        return later

    application.event_log.open.clear()
    subject._process(commands("Acme"), 0)
    consumer.arrivals.append(arrived)
    decide(subject, commands("Globex", partition=2))

    assert application.event_log.commits == [1, 2]
    assert outcome(application.event_log) == ["accepted"] * 3


def test_a_batch_consumed_across_a_rebalance_is_dropped_and_consumed_again() -> None:
    application = FakeApplication({})
    subject = handler(application)
    consumer = cast(FakeConsumer, subject.owned.consumer)

    def reassigned() -> list[Message]:
        application.event_log.open.set()
        # As the consumer calls them, mid-batch: partition 2 goes, 1 stays.
        subject.owned._on_revoke(subject.owned.consumer, [])
        consumer.committed_offsets = {1: 40}
        return commands("Initech", partition=1)  # consumed after the rebalance

    application.event_log.open.clear()
    subject._process(commands("Acme"), 0)
    consumer.arrivals.append(reassigned)
    decide(subject, commands("Globex", partition=2))

    assert application.event_log.commits == [1]  # only the batch before it
    subject.owned.recover()  # as the loop does next
    assert consumer.seeks == [(1, 40)]  # what is owned now, from its committed offset


def test_a_command_on_another_partition_than_its_organizations_is_forwarded_there() -> None:
    application = FakeApplication({})
    subject = handler(application)
    [stray] = commands("Acme", partition=1)
    moved = Message(topic=TOPIC, partition=2, offset=7, key=b"crc32", value=stray.value())

    decide(subject, [moved])

    [forwarded] = application.event_log.committed
    organization_id = Codec().decode(stray.value()).fields["meta"]["organization_id"]
    assert (forwarded.topic, forwarded.partition) == (TOPIC, 1)
    assert (forwarded.key, forwarded.value) == (organization_id.encode(), stray.value())
    assert header(forwarded.headers, "forwarded-from") == f"{TOPIC}[2]@7"


def test_a_commit_stuck_past_its_deadline_is_given_up_and_its_batch_consumed_again() -> None:
    application = FakeApplication({})
    subject = handler(application)
    subject._committer.deadline_s = 0.2
    consumer = cast(FakeConsumer, subject.owned.consumer)
    consumer.committed_offsets = {0: 0}
    application.event_log.open.clear()  # the commit hangs, as send_offsets can

    subject._process(commands("Acme"), 0)
    assert not subject._settle()

    assert application.event_log.abandoned == 1
    subject.owned.recover()
    assert consumer.seeks == [(0, 0)]
    application.event_log.open.set()
