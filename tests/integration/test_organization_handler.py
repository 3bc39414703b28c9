"""The organization service's command handler as a real process on the real broker."""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from confluent_kafka import Message, Producer

from ostock.commands import Issuer, organization_command
from ostock.kafka.config import header, producer_config
from ostock.kafka.deadletters import CONSUMER, REASON, SOURCE_OFFSET, SOURCE_TOPIC
from ostock.kafka.publisher import CommandPublisher
from ostock.settings import Settings
from tests.decisions import assert_decided_rightly
from tests.flow import ACME, Flow, created, creates_and_updates
from tests.kafka_helpers import all_results, decoded, read_until, results_for
from tests.processes import Worker

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def handler(system: dict[str, Worker]) -> Worker:
    """The session's organization handler (one writer per instance name: never a second)."""
    return system["organization-handler"]


@pytest.fixture(scope="module")
def publisher(settings: Settings) -> CommandPublisher:
    return CommandPublisher(settings)


def events_of(settings: Settings, organization_id: str, count: int) -> list[dict[str, Any]]:
    def enough(records: list[Message]) -> bool:
        return sum((m.key() or b"").decode() == organization_id for m in records) >= count

    records = read_until(settings, settings.topics.organization_events, enough)
    mine = [m for m in records if (m.key() or b"").decode() == organization_id]
    return [r.fields | {"type": r.name} for r in decoded(mine)]


def test_create_then_update_is_accepted_with_versions(
    settings: Settings, handler: Worker, publisher: CommandPublisher
) -> None:
    organization_id = str(uuid4())
    create = organization_command("create", organization_id, Issuer("tester"), ACME)
    update = organization_command(
        "update", organization_id, Issuer("tester"), ACME | {"name": "Acme Ltd"}, expected_version=1
    )
    publisher.publish([create, update])
    results = results_for(settings, {create.meta.command_id, update.meta.command_id})
    assert (
        results[create.meta.command_id]["status"],
        results[create.meta.command_id]["version"],
    ) == (
        "accepted",
        1,
    )
    assert (
        results[update.meta.command_id]["status"],
        results[update.meta.command_id]["version"],
    ) == (
        "accepted",
        2,
    )
    created, updated = events_of(settings, organization_id, 2)
    assert created["type"] == "ostock.organization.OrganizationCreated"
    assert updated["name"] == "Acme Ltd"
    assert updated["meta"]["command_id"] == update.meta.command_id
    assert updated["meta"]["version"] == 2


def test_a_repeated_command_id_has_the_same_outcome_and_one_event(
    settings: Settings, handler: Worker, publisher: CommandPublisher
) -> None:
    organization_id = str(uuid4())
    command_id = str(uuid4())
    issuer = Issuer("tester", command_id=command_id)
    first = organization_command("create", organization_id, issuer, ACME)
    again = organization_command("create", organization_id, issuer, ACME)
    marker = organization_command("delete", organization_id, Issuer("tester"))
    publisher.publish([first, again, marker])
    results = all_results(settings, {command_id, marker.meta.command_id})
    outcomes = [r for r in results if r["command_id"] == command_id]
    assert [(o["status"], o["version"]) for o in outcomes] == [("accepted", 1), ("accepted", 1)]
    types = [e["type"] for e in events_of(settings, organization_id, 2)]
    assert types == [
        "ostock.organization.OrganizationCreated",
        "ostock.organization.OrganizationDeleted",
    ]


def test_rejections_carry_a_code_and_a_reason(
    settings: Settings, handler: Worker, publisher: CommandPublisher
) -> None:
    organization_id = str(uuid4())
    create = organization_command("create", organization_id, Issuer("tester"), ACME)
    stale = organization_command(
        "update", organization_id, Issuer("tester"), ACME, expected_version=7
    )
    unknown = organization_command("update", str(uuid4()), Issuer("tester"), ACME)
    invalid = organization_command("create", str(uuid4()), Issuer("tester"), ACME | {"name": " "})
    publisher.publish([create, stale, unknown, invalid])
    results = results_for(settings, {c.meta.command_id for c in (create, stale, unknown, invalid)})
    assert results[stale.meta.command_id]["error_code"] == "version-conflict"
    assert "expected version 7" in results[stale.meta.command_id]["error_message"]
    assert results[unknown.meta.command_id]["error_code"] == "not-found"
    assert results[invalid.meta.command_id]["error_code"] == "invalid-field"
    assert all(
        results[c.meta.command_id]["status"] == "rejected" for c in (stale, unknown, invalid)
    )


def test_garbage_goes_to_the_dead_letter_topic_and_the_stream_goes_on(
    settings: Settings, handler: Worker, publisher: CommandPublisher
) -> None:
    organization_id = str(uuid4())
    producer = Producer(producer_config(settings))
    producer.produce(
        settings.topics.organization_commands, key=organization_id.encode(), value=b"\x00garbage"
    )
    producer.flush(10)
    after = organization_command("create", organization_id, Issuer("tester"), ACME)
    publisher.publish([after])
    assert (
        results_for(settings, {after.meta.command_id})[after.meta.command_id]["status"]
        == "accepted"
    )

    def has_ours(records: list[Message]) -> bool:
        return any((m.key() or b"").decode() == organization_id for m in records)

    letters = read_until(settings, settings.topics.dead_letters, has_ours)
    # Every consumer of the command topic dead-letters it (the command-status projector
    # too); this test is about the handler's.
    [letter] = [
        m
        for m in letters
        if (m.key() or b"").decode() == organization_id
        and header(m.headers(), CONSUMER) == "ostock.organization-service"
    ]
    assert letter.value() == b"\x00garbage"
    assert header(letter.headers(), REASON) == "bad-framing"
    assert header(letter.headers(), SOURCE_TOPIC) == settings.topics.organization_commands
    assert header(letter.headers(), SOURCE_OFFSET) is not None


def test_a_killed_handler_loses_no_command_and_duplicates_no_event(
    settings: Settings, handler: Worker, publisher: CommandPublisher
) -> None:
    organizations = [str(uuid4()) for _ in range(40)]
    commands = creates_and_updates(organizations, 5)
    publisher.publish(commands[:120])
    results_for(settings, {commands[0].meta.command_id})
    handler.kill()
    publisher.publish(commands[120:])
    time.sleep(0.5)
    handler.start()

    assert_decided_rightly(settings, commands, *organization_topics(settings))


def organization_topics(settings: Settings) -> tuple[str, str]:
    return settings.topics.organization_commands, settings.topics.organization_events


@pytest.fixture
def second(settings: Settings, tmp_path: Path) -> Iterator[Worker]:
    """A second organization handler, not yet started; stopped at the end."""
    worker = Worker(
        ["worker", "handler", "organization", "--instance", "second"],
        settings,
        tmp_path / "second-handler.log",
    )
    yield worker
    worker.resume()
    worker.stop()


def test_a_second_instance_joining_and_leaving_under_load_decides_every_command_rightly(
    settings: Settings, handler: Worker, publisher: CommandPublisher, second: Worker
) -> None:
    """Commands keep coming, from a client that partitions like Java and one that does
    not, while a second instance joins, owns partitions, then leaves: a batch consumed
    across a rebalance is dropped and decided again by whoever owns it next, and a
    command on another partition than its organization's is decided by that one's
    owner."""
    organizations = created(settings, publisher, 60)
    updates = creates_and_updates(organizations, 12)[60:]
    with Flow(settings, updates):
        second.start()
        second.wait_for("assigned", timeout_s=60)
        time.sleep(8)  # both own partitions
        second.stop()  # its partitions go back to the first once its session times out
        assert second.process is not None and second.process.returncode == 0, second.output()
    assert_decided_rightly(settings, updates, *organization_topics(settings))


def test_an_instance_paused_past_its_session_timeout_comes_back_and_decides_rightly(
    settings: Settings, handler: Worker, publisher: CommandPublisher, second: Worker
) -> None:
    """The second instance stops answering (a long GC pause, a frozen VM) while it owns
    partitions: the first takes them over; when it comes back, the group splits them
    again, and whatever the paused one still had in flight is fenced."""
    organizations = created(settings, publisher, 60)
    updates = creates_and_updates(organizations, 20)[60:]
    with Flow(settings, updates):
        second.start()
        second.wait_for("assigned", timeout_s=60)
        time.sleep(2)
        second.pause()
        time.sleep(15)  # past its 10 s session: the first owns everything
        second.resume()
        second.wait_for("assigned", timeout_s=60, times=2)  # back, owning partitions again
        time.sleep(3)
    second.stop()
    assert_decided_rightly(settings, updates, *organization_topics(settings))
