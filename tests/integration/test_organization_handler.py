"""The organization service's command handler as a real process on the real broker."""

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from confluent_kafka import Message, Producer

from ostock.commands import Command, Issuer, organization_command
from ostock.deadletters import CONSUMER, REASON, SOURCE_OFFSET, SOURCE_TOPIC
from ostock.kafka import header, producer_config
from ostock.publisher import CommandPublisher
from ostock.settings import Settings
from tests.kafka_helpers import all_results, decoded, read_until, results_for
from tests.processes import Worker

pytestmark = pytest.mark.integration

ACME = {
    "name": "Acme",
    "contact_name": "Ada",
    "contact_email": "ada@acme.example",
    "contact_phone": "",
}


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
    results = results_for(settings, {create.command_id, update.command_id})
    assert (results[create.command_id]["status"], results[create.command_id]["version"]) == (
        "accepted",
        1,
    )
    assert (results[update.command_id]["status"], results[update.command_id]["version"]) == (
        "accepted",
        2,
    )
    created, updated = events_of(settings, organization_id, 2)
    assert created["type"] == "ostock.organization.OrganizationCreated"
    assert updated["name"] == "Acme Ltd"
    assert updated["meta"]["command_id"] == update.command_id
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
    results = all_results(settings, {command_id, marker.command_id})
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
    results = results_for(settings, {c.command_id for c in (create, stale, unknown, invalid)})
    assert results[stale.command_id]["error_code"] == "version-conflict"
    assert "expected version 7" in results[stale.command_id]["error_message"]
    assert results[unknown.command_id]["error_code"] == "not-found"
    assert results[invalid.command_id]["error_code"] == "invalid-field"
    assert all(results[c.command_id]["status"] == "rejected" for c in (stale, unknown, invalid))


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
    assert results_for(settings, {after.command_id})[after.command_id]["status"] == "accepted"

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


def creates_and_updates(organizations: list[str], rounds: int) -> list[Command]:
    """A create of each organization, then `rounds` rounds of an update of each."""
    commands = [organization_command("create", o, Issuer("tester"), ACME) for o in organizations]
    commands += [
        organization_command("update", o, Issuer("tester"), ACME | {"name": f"v{i}"})
        for i in range(rounds)
        for o in organizations
    ]
    return commands


def assert_decided_once(
    settings: Settings, commands: list[Command], organizations: list[str], timeout_s: float
) -> None:
    """Every command has exactly one result, an acceptance, and one event whose position
    (aggregate, version) no other event has."""
    ids = {c.command_id for c in commands}
    results = read_until(
        settings,
        settings.topics.command_results,
        lambda records: ids <= {(m.key() or b"").decode() for m in records},
        timeout_s=timeout_s,
    )
    mine = [r.fields for r in decoded(results) if r.fields["command_id"] in ids]
    assert len(mine) == len(ids), "every command has exactly one result"
    assert all(r["status"] == "accepted" for r in mine)

    wanted = set(organizations)
    events = read_until(
        settings,
        settings.topics.organization_events,
        lambda records: sum((m.key() or b"").decode() in wanted for m in records) >= len(ids),
    )
    positions = [
        (r.fields["meta"]["aggregate_id"], r.fields["meta"]["version"])
        for r in decoded([m for m in events if (m.key() or b"").decode() in wanted])
    ]
    assert len(positions) == len(set(positions)) == len(ids)


def test_a_killed_handler_loses_no_command_and_duplicates_no_event(
    settings: Settings, handler: Worker, publisher: CommandPublisher
) -> None:
    organizations = [str(uuid4()) for _ in range(40)]
    commands = creates_and_updates(organizations, 5)
    publisher.publish(commands[:120])
    results_for(settings, {commands[0].command_id})
    handler.kill()
    publisher.publish(commands[120:])
    time.sleep(0.5)
    handler.start()

    assert_decided_once(settings, commands, organizations, timeout_s=60)


def test_partitions_moving_to_a_second_instance_and_back_lose_and_duplicate_nothing(
    settings: Settings, handler: Worker, publisher: CommandPublisher, tmp_path: Path
) -> None:
    """Commands keep coming while a second instance joins, then leaves: a batch consumed
    across either rebalance is dropped and decided again by whoever owns it next."""
    organizations = [str(uuid4()) for _ in range(60)]
    commands = creates_and_updates(organizations, 8)
    chunks = [commands[start : start + 10] for start in range(0, len(commands), 10)]
    second = Worker(
        ["worker", "handler", "organization", "--instance", "second"],
        settings,
        tmp_path / "second-handler.log",
    )

    def publish_until(done: Callable[[], bool]) -> None:
        """A chunk every 0.2 s until `done` (then ten more), or until none is left."""
        after = 10
        while chunks and after:
            publisher.publish(chunks.pop(0))
            time.sleep(0.2)
            after -= done()

    try:
        publisher.publish(chunks.pop(0))  # the creates come first
        second.start()
        publish_until(lambda: "assigned" in second.output())  # the first rebalance
        second.stop()  # its partitions go back to the first once its session times out
        assert second.process is not None and second.process.returncode == 0, second.output()
        publish_until(lambda: False)
    finally:
        second.stop()
    assert "assigned" in second.output(), "the second instance never owned a partition"
    assert_decided_once(settings, commands, organizations, timeout_s=90)
