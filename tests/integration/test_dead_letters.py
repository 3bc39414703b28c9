"""Dead letters end to end: poison records of three kinds on an event topic and on a
command topic land in the dead-letter topic with their reasons while every consumer
goes on; `ostock dlq` lists and shows them, requeues them once the cause is fixed
(processed then as a first arrival), and purges them."""

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
import redis as redis_lib
from confluent_kafka import Producer

from ostock.commands import Issuer, license_command, organization_command
from ostock.contract import Codec, SchemaSet, load_schemas
from ostock.contract.codec import MARKER
from ostock.contract.records import Command, Contract, CreateOrganization
from ostock.deployables import handler_group
from ostock.handlers.application import kafka_env
from ostock.handlers.licensing import LicensingService
from ostock.handlers.organization import OrganizationService
from ostock.handlers.runner import CommandHandler, HandlerSpec
from ostock.kafka import deadletters as dlq
from ostock.kafka.config import Headers, producer_config
from ostock.kafka.dead_letter_queue import REQUEUED_FROM, DeadLetterQueue
from ostock.kafka.letters import DeadLetter
from ostock.kafka.publisher import CommandPublisher
from ostock.settings import Settings, settings_env
from ostock.views.keys import Keys
from tests.kafka_helpers import all_results, results_for
from tests.processes import Worker
from tests.projectors import Projector, fresh, produce
from tests.records import license_event, organization_event

pytestmark = pytest.mark.integration

WAIT_S = 30.0
DETAILS = {"contact_name": "Ada", "contact_email": "ada@example.com", "contact_phone": ""}
Source = tuple[str, int, int]


def poison(wrong_type: Contract) -> dict[str, bytes]:
    """A record of each poison kind, by the reason it is dead-lettered with."""
    codec = Codec()
    return {
        "bad-framing": b"\x00 certainly not Avro",
        "unknown-schema": MARKER + bytes.fromhex("0123456789abcdef") + b"\x02\x04",
        "unexpected-type": codec.write(wrong_type),
    }


def create(organization_id: str, name: str) -> Command:
    return organization_command(
        "create", organization_id, Issuer("test"), {"name": name, **DETAILS}
    )


def wait_for_letters(
    settings: Settings, found: Callable[[list[DeadLetter]], bool]
) -> list[DeadLetter]:
    queue = DeadLetterQueue(settings)
    deadline = time.monotonic() + WAIT_S
    while not found(letters := queue.letters()):
        assert time.monotonic() < deadline, f"dead letters not there in {WAIT_S}s: {letters}"
        time.sleep(0.2)
    return letters


def reasons_by_consumer(
    letters: list[DeadLetter], sources: dict[Source, str]
) -> dict[str, dict[str, str]]:
    """For each consumer, the reason it gave for each poison record (by expected reason)."""
    seen: dict[str, dict[str, str]] = {}
    for letter in letters:
        if letter.source in sources:
            seen.setdefault(letter.get(dlq.CONSUMER), {})[sources[letter.source]] = letter.reason
    return seen


def send_poison(
    settings: Settings, topic: str, key: str, wrong_type: Contract
) -> dict[Source, str]:
    """Produce the three poison kinds keyed `key`; the reason expected for each source."""
    kinds = poison(wrong_type)
    sent = produce(settings, topic, [(key.encode(), value) for value in kinds.values()])
    return {
        (topic, m.partition() or 0, m.offset() or 0): reason
        for m, reason in zip(sent, kinds, strict=True)
    }


def ostock_dlq(
    settings: Settings, *args: str, check: bool = True
) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, "-m", "ostock", "dlq", *args],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=check,
    )


def test_poison_commands_are_dead_lettered_and_the_handler_goes_on(
    system: dict[str, Worker], system_settings: Settings
) -> None:
    topic = system_settings.topics.organization_commands
    organization_id = str(uuid4())
    wrong_type = organization_event("OrganizationDeleted", organization_id, 2)
    sources = send_poison(system_settings, topic, organization_id, wrong_type)
    # The same key, so the same partition, after the poison.
    after = create(organization_id, "After the poison")
    CommandPublisher(system_settings).publish([after])

    results = results_for(system_settings, {after.meta.command_id})
    assert results[after.meta.command_id]["status"] == "accepted"
    consumers = {
        handler_group(OrganizationService.name),
        f"{system_settings.redis_prefix}.command-status-projector",
    }
    expected = {consumer: {r: r for r in sources.values()} for consumer in consumers}
    letters = wait_for_letters(
        system_settings, lambda found: reasons_by_consumer(found, sources) == expected
    )
    mine = [letter for letter in letters if letter.source in sources]
    assert all(letter.key == organization_id.encode() for letter in mine)
    assert all(letter.get(dlq.ERROR) and letter.get(dlq.FAILED_AT) for letter in mine)


def test_poison_events_are_dead_lettered_and_the_projectors_go_on(
    system: dict[str, Worker], system_settings: Settings, api: httpx.Client
) -> None:
    topic = system_settings.topics.organization_events
    organization_id = str(uuid4())
    wrong_type = create(organization_id, "A command on the events topic")
    sources = send_poison(system_settings, topic, organization_id, wrong_type)
    after = create(organization_id, "After the poison")
    CommandPublisher(system_settings).publish([after])

    prefix = system_settings.redis_prefix
    consumers = {
        f"{prefix}.organization-projector",
        f"{prefix}.licensing-organizations",
        f"{prefix}.cascade-delete-saga",
    }
    expected = {consumer: {r: r for r in sources.values()} for consumer in consumers}
    wait_for_letters(system_settings, lambda found: reasons_by_consumer(found, sources) == expected)
    view = api.get(f"/v1/organizations/{organization_id}", params={"min_version": 1})
    assert view.status_code == 200, view.text
    assert view.json()["name"] == "After the poison"

    # The operator's view of them.
    listed = [
        json.loads(line)
        for line in ostock_dlq(system_settings, "list", "--source-topic", topic, "--json")
        .stdout.strip()
        .splitlines()
    ]
    ours = [
        e
        for e in listed
        if (e["source_topic"], e["source_partition"], e["source_offset"]) in sources
    ]
    assert sorted(e["reason"] for e in ours) == sorted(3 * list(sources.values()))
    assert all(e["requeued_to"] is None for e in ours)
    garbage = next(e for e in ours if e["reason"] == "bad-framing")
    shown = ostock_dlq(system_settings, "show", garbage["id"]).stdout
    assert "dlq-reason: bad-framing" in shown
    assert f"dlq-source-topic: {topic}" in shown
    assert "value: undecodable (bad-framing" in shown
    assert ". certainly not" in shown  # the hex dump's text column
    plain = ostock_dlq(system_settings, "list", "--reason", "unknown-schema").stdout
    assert all("unknown-schema" in line for line in plain.splitlines())

    # Requeued unfixed, the garbage goes back once, for all three, and dies again the same way.
    requeued = ostock_dlq(system_settings, "requeue", garbage["id"])
    destinations = {line.split()[-1] for line in requeued.stdout.splitlines()}
    assert len(requeued.stdout.splitlines()) == 3 and len(destinations) == 1
    assert "1 record(s) requeued (3 dead letter(s))" in requeued.stderr
    copy = re.fullmatch(r"(.+)\[(\d+)\]@(\d+)", destinations.pop())
    assert copy is not None
    again = {(copy[1], int(copy[2]), int(copy[3])): "bad-framing"}
    expected = {consumer: {"bad-framing": "bad-framing"} for consumer in consumers}
    letters = wait_for_letters(
        system_settings, lambda found: reasons_by_consumer(found, again) == expected
    )
    assert {d.get(REQUEUED_FROM) for d in letters if d.source in again} == {garbage["id"]}


@pytest.mark.parametrize("kind", ["commands", "events"])
def test_poison_on_the_other_topics_is_dead_lettered_by_each_consumer(
    system: dict[str, Worker], system_settings: Settings, kind: str
) -> None:
    organization_id, license_id = str(uuid4()), str(uuid4())
    prefix = system_settings.redis_prefix
    if kind == "commands":
        topic = system_settings.topics.license_commands
        wrong_type: Contract = license_event("LicenseDeleted", organization_id, license_id, 2)
        consumers = {handler_group(LicensingService.name), f"{prefix}.command-status-projector"}
    else:
        topic = system_settings.topics.license_events
        command = license_command("delete", organization_id, license_id, Issuer("test"))
        wrong_type = command
        consumers = {f"{prefix}.license-projector", f"{prefix}.cascade-delete-saga"}
    sources = send_poison(system_settings, topic, organization_id, wrong_type)

    expected = {consumer: {r: r for r in sources.values()} for consumer in consumers}
    wait_for_letters(system_settings, lambda found: reasons_by_consumer(found, sources) == expected)


def test_poison_results_are_dead_lettered_by_the_command_status_projector(
    settings: Settings, tmp_path: Path
) -> None:
    # Topics of its own: the session's results topic is read whole by other tests.
    own = fresh(settings, tmp_path)
    projector = Projector("command-status-projector", own, tmp_path / "projector.log").start()
    try:
        organization_id = str(uuid4())
        wrong_type = organization_event("OrganizationDeleted", organization_id, 2)
        topic = own.topics.command_results
        sources = send_poison(own, topic, organization_id, wrong_type)
        consumer = f"{own.redis_prefix}.command-status-projector"
        expected = {consumer: {r: r for r in sources.values()}}
        wait_for_letters(own, lambda found: reasons_by_consumer(found, sources) == expected)
    finally:
        projector.stop()


def test_clear_errors_for_an_unknown_id_and_an_unreachable_broker(
    system_settings: Settings,
) -> None:
    unknown = ostock_dlq(system_settings, "show", "0:999999999", check=False)
    assert unknown.returncode == 1
    assert "no dead letter 0:999999999" in unknown.stderr
    malformed = ostock_dlq(system_settings, "show", "nonsense", check=False)
    assert malformed.returncode == 2 and "partition:offset" in malformed.stderr
    away = system_settings.model_copy(update={"kafka_bootstrap": "127.0.0.1:1"})
    env = {"OSTOCK_KAFKA_TIMEOUT_S": "1"}
    unreachable = subprocess.run(
        [sys.executable, "-m", "ostock", "dlq", "list"],
        env=settings_env(away) | env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert unreachable.returncode == 2
    assert "error:" in unreachable.stderr and "127.0.0.1:1" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr


class BuggyOrganizationService(OrganizationService):
    """The organization service with a bug: it cannot create an organization named Bug."""

    def create(self, command: CreateOrganization, issued: Any, headers: Headers) -> int:
        if command.name == "Bug":
            raise RuntimeError("a bug in create")
        return super().create(command, issued, headers)


def without(record_name: str) -> SchemaSet:
    """The published schemas but those of `record_name`: an older deployment's."""
    older = SchemaSet()
    for version in load_schemas().by_fingerprint.values():
        if version.full_name != record_name:
            older.add(version)
    return older


@contextmanager
def handler_thread(
    settings: Settings, service: type[OrganizationService], codec: Codec
) -> Iterator[None]:
    """An organization handler of the test's own (topics, group, transactional id)."""
    group = f"dlq-test-{settings.redis_prefix}"
    spec = HandlerSpec(group, settings.topics.organization_commands, service.commands)
    env = kafka_env(settings, settings.topics.organization_events, f"ostock.{group}.1")
    application = service(env=env)
    handler = CommandHandler(settings, spec, application, codec, "1")
    stop = threading.Event()
    thread = threading.Thread(target=handler.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)
        application.close()


def test_requeued_after_the_fix_they_are_processed_as_first_arrivals(
    settings: Settings, tmp_path: Path
) -> None:
    own = fresh(settings, tmp_path)
    acme, bug, after = str(uuid4()), str(uuid4()), str(uuid4())
    created = create(acme, "Acme")
    buggy = create(bug, "Bug")
    deleted = organization_command("delete", acme, Issuer("test"))
    following = create(after, "After")
    publisher = CommandPublisher(own)

    # The deployed handler has a bug and does not know DeleteOrganization yet.
    older = Codec(without("ostock.organization.DeleteOrganization"))
    with handler_thread(own, BuggyOrganizationService, older):
        publisher.publish([created, buggy, deleted, following])
        results = results_for(own, {created.meta.command_id, following.meta.command_id}, WAIT_S)
        assert {r["status"] for r in results.values()} == {"accepted"}
        letters = wait_for_letters(own, lambda found: len(found) == 2)
    by_reason = {letter.reason: letter for letter in letters}
    assert set(by_reason) == {"handler-error", "unknown-schema"}
    assert by_reason["handler-error"].get(dlq.ERROR) == "RuntimeError: a bug in create"
    assert by_reason["handler-error"].get(dlq.CONSUMER) == f"ostock.dlq-test-{own.redis_prefix}"

    # The fix is deployed; the operator sends the dead letters back.
    with handler_thread(own, OrganizationService, Codec()):
        requeued = ostock_dlq(own, "requeue", "--all").stdout
        assert sorted(line.split()[0] for line in requeued.splitlines()) == sorted(
            str(letter.id) for letter in letters
        )
        ids = {buggy.meta.command_id, deleted.meta.command_id}
        results = results_for(own, ids, WAIT_S)
    assert results[buggy.meta.command_id]["status"] == "accepted"
    assert results[buggy.meta.command_id]["version"] == 1
    assert results[deleted.meta.command_id]["status"] == "accepted"
    assert results[deleted.meta.command_id]["version"] == 2
    # Exactly one decision each, as for any command.
    assert len(all_results(own, ids, WAIT_S)) == 2

    listed = [json.loads(line) for line in ostock_dlq(own, "list", "--json").stdout.splitlines()]
    assert all(entry["requeued_to"] for entry in listed)
    again = ostock_dlq(own, "requeue", "--all")
    assert "skipped: requeued before" in again.stderr
    assert "0 record(s) requeued (0 dead letter(s))" in again.stderr


def test_purge_drops_the_oldest_letters_then_all(settings: Settings, tmp_path: Path) -> None:
    own = fresh(settings, tmp_path)
    producer = Producer(producer_config(own))
    for offset in range(3):
        headers = dlq.dead_letter_headers(
            reason="bad-framing",
            error="bad-framing: test",
            topic=own.topics.organization_commands,
            partition=0,
            offset=offset,
            consumer="tests",
        )
        producer.produce(own.topics.dead_letters, value=b"x", partition=0, headers=headers)
    assert producer.flush(10) == 0

    dropped = ostock_dlq(own, "purge", "--before", "0:2", "--yes").stdout
    assert "partition 0: dropped offsets 0..1 (2)" in dropped
    assert [letter.id for letter in DeadLetterQueue(own).letters()] == [(0, 2)]
    assert "partition 0: dropped offsets 2..2 (1)" in ostock_dlq(own, "purge", "--all", "-y").stdout
    assert DeadLetterQueue(own).letters() == []
    nothing = ostock_dlq(own, "purge", "--all", "--yes")
    assert "0 record(s) dropped" in nothing.stderr


def test_an_event_redis_refuses_is_dead_lettered_and_the_others_applied(
    system: dict[str, Worker], system_settings: Settings, api: httpx.Client
) -> None:
    """A record that decodes but that Redis refuses (here its view key holds a string, a
    WRONGTYPE error on every try) is dead-lettered as apply-error; the rest of its batch
    is applied."""
    refused, fine = str(uuid4()), str(uuid4())
    key = Keys(system_settings.redis_prefix).organization(refused)  # first generation
    client = redis_lib.Redis.from_url(system_settings.redis_url)
    client.set(key, "not a hash")
    try:
        CommandPublisher(system_settings).publish(
            [create(refused, "Refused by Redis"), create(fine, "Applied")]
        )
        view = api.get(f"/v1/organizations/{fine}", params={"min_version": 1})
        assert view.status_code == 200, view.text
        consumer = f"{system_settings.redis_prefix}.organization-projector"

        def refused_letter(found: list[DeadLetter]) -> bool:
            return any(d.reason == "apply-error" and d.get(dlq.CONSUMER) == consumer for d in found)

        letters = wait_for_letters(system_settings, refused_letter)
        letter = next(d for d in letters if d.reason == "apply-error")
        assert "WRONGTYPE" in letter.get(dlq.ERROR)
        assert letter.source[0] == system_settings.topics.organization_events
        assert client.get(key) == b"not a hash"  # nothing half-written
    finally:
        client.delete(key)
