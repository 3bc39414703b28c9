"""The cascade-delete saga with the real handlers, as processes on the real broker:
deleting an organization deletes its licenses, once, with the deletion's correlation id.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from uuid import uuid4

import pytest
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaException,
    Message,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from ostock.commands import Issuer, license_command, organization_command
from ostock.contract import Codec, Record, UndecodableRecord
from ostock.contract.records import Command
from ostock.kafka.config import consumer_config, header
from ostock.kafka.publisher import CommandPublisher
from ostock.sagas.cascade_delete import ISSUER, cascade_command_id
from ostock.settings import Settings
from tests.kafka_helpers import read_until, results_for
from tests.processes import Worker

pytestmark = pytest.mark.integration

WAIT_S = 60.0
ACME = {"name": "Acme", "contact_name": "", "contact_email": "", "contact_phone": ""}
OFFICE = {"product_name": "Office", "license_type": "user", "description": "", "comment": ""}
CODEC = Codec()


@dataclass
class Services:
    """Both command handlers and the saga; the saga can be stopped and started again."""

    settings: Settings
    handlers: list[Worker]
    saga: Worker

    def start_saga(self) -> None:
        self.saga.start()

    def check_alive(self) -> None:
        """Fail at once, with its log, if a process has died."""
        for worker in [*self.handlers, self.saga]:
            assert worker.alive(), f"{worker.args} exited: {worker.output()[-3000:]}"


@pytest.fixture(scope="module")
def services(settings: Settings, system: dict[str, Worker]) -> Iterator[Services]:
    """The session's handlers and saga (one writer per instance name: never a second)."""
    handlers = [system["organization-handler"], system["licensing-handler"]]
    services = Services(settings, handlers, system["cascade-delete-saga"])
    yield services
    if not services.saga.alive():
        services.start_saga()


@pytest.fixture(scope="module")
def publisher(settings: Settings) -> CommandPublisher:
    return CommandPublisher(settings)


def decide(settings: Settings, publisher: CommandPublisher, *commands: Command) -> dict[str, str]:
    """Publish `commands`; the status of each once decided, by command id."""
    publisher.publish(commands)
    results = results_for(settings, {c.meta.command_id for c in commands}, WAIT_S)
    return {command_id: result["status"] for command_id, result in results.items()}


def organization_with_licenses(
    settings: Settings, publisher: CommandPublisher, count: int
) -> tuple[str, list[str]]:
    """A new organization holding `count` licenses, every command accepted."""
    organization_id = new_organization(settings, publisher)
    license_ids = [str(uuid4()) for _ in range(count)]
    grants = [
        license_command("create", organization_id, lic, Issuer("tester"), OFFICE)
        for lic in license_ids
    ]
    assert set(decide(settings, publisher, *grants).values()) == {"accepted"}
    return organization_id, license_ids


def new_organization(settings: Settings, publisher: CommandPublisher) -> str:
    organization_id = str(uuid4())
    create = organization_command("create", organization_id, Issuer("tester"), ACME)
    assert decide(settings, publisher, create) == {create.meta.command_id: "accepted"}
    return organization_id


def delete_organization(settings: Settings, publisher: CommandPublisher, org: str) -> str:
    """Delete the organization; the correlation id of the deletion."""
    correlation_id = str(uuid4())
    delete = organization_command("delete", org, Issuer("tester", correlation_id))
    assert decide(settings, publisher, delete) == {delete.meta.command_id: "accepted"}
    return correlation_id


def records_of(
    settings: Settings,
    topic: str,
    organization_id: str,
    done: Callable[[list[Record]], bool] | None = None,
) -> list[tuple[Record, Message]]:
    """The decodable records of one organization on `topic`: once `done` holds for them,
    or, without `done`, all of them up to the end of the topic now."""

    def ours(messages: list[Message]) -> list[tuple[Record, Message]]:
        found = []
        for message in messages:
            if message.key() != organization_id.encode():
                continue
            try:
                found.append((CODEC.decode(message.value()), message))
            except UndecodableRecord:
                continue
        return found

    if done is None:
        return ours(read_all(settings, topic))
    messages = read_until(settings, topic, lambda ms: done([r for r, _ in ours(ms)]), WAIT_S)
    return ours(messages)


def read_all(settings: Settings, topic: str) -> list[Message]:
    """Every committed record of `topic`, from the start to its end now."""
    consumer = Consumer(consumer_config(settings, "tests.reader"))
    partitions = [TopicPartition(topic, p) for p in range(settings.topic_partitions)]
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(len(partitions))])
    bounds = [consumer.get_watermark_offsets(tp, timeout=10) for tp in partitions]
    # Empty partitions are done; a partition's position (unlike its last record's offset)
    # moves past control records such as transaction markers, up to the end.
    ends = {
        tp.partition: end
        for tp, (start, end) in zip(partitions, bounds, strict=True)
        if end > start
    }
    records: list[Message] = []
    deadline = time.monotonic() + WAIT_S
    try:
        while any(
            tp.offset < ends[tp.partition]
            for tp in consumer.position(partitions)
            if tp.partition in ends
        ):
            assert time.monotonic() < deadline, f"{topic} not read to its end in {WAIT_S}s"
            records.extend(m for m in consumer.consume(500, timeout=0.2) if m.error() is None)
    finally:
        consumer.close()
    return records


def named(name: str, records: list[Record]) -> list[Record]:
    return [r for r in records if r.name == name]


def license_deletions(services: Services, organization_id: str, count: int) -> list[Record]:
    """The LicenseDeleted events of the organization, once there are `count`."""

    def enough(records: list[Record]) -> bool:
        services.check_alive()
        return len(named("ostock.license.LicenseDeleted", records)) >= count

    settings = services.settings
    found = records_of(settings, settings.topics.license_events, organization_id, enough)
    return named("ostock.license.LicenseDeleted", [r for r, _ in found])


def live_licenses(settings: Settings, organization_id: str) -> set[str]:
    """Licenses of the organization created and not deleted, from its events."""
    records = [r for r, _ in records_of(settings, settings.topics.license_events, organization_id)]
    created = named("ostock.license.LicenseCreated", records)
    deleted = named("ostock.license.LicenseDeleted", records)
    return {r.fields["meta"]["aggregate_id"] for r in created} - {
        r.fields["meta"]["aggregate_id"] for r in deleted
    }


def deletion_event_id(settings: Settings, organization_id: str) -> str:
    found = records_of(
        settings,
        settings.topics.organization_events,
        organization_id,
        lambda rs: bool(named("ostock.organization.OrganizationDeleted", rs)),
    )
    [deleted] = named("ostock.organization.OrganizationDeleted", [r for r, _ in found])
    return str(deleted.fields["meta"]["event_id"])


def test_deleting_an_organization_deletes_each_of_its_licenses(
    settings: Settings, services: Services, publisher: CommandPublisher
) -> None:
    organization_id, license_ids = organization_with_licenses(settings, publisher, 3)
    correlation_id = delete_organization(settings, publisher, organization_id)

    deletions = license_deletions(services, organization_id, 3)
    deletion = deletion_event_id(settings, organization_id)
    assert sorted(d.fields["meta"]["aggregate_id"] for d in deletions) == sorted(license_ids)
    for event in deletions:
        meta = event.fields["meta"]
        assert meta["issued_by"] == ISSUER
        assert meta["correlation_id"] == correlation_id
        assert meta["command_id"] == cascade_command_id(deletion, meta["aggregate_id"])
    assert live_licenses(settings, organization_id) == set()
    commands = records_of(settings, settings.topics.license_commands, organization_id)
    saga_commands = [m for r, m in commands if r.fields["meta"]["issued_by"] == ISSUER]
    assert {header(m.headers(), "correlation-id") for m in saga_commands} == {correlation_id}


def test_the_saga_run_twice_on_the_same_events_deletes_once(
    settings: Settings, services: Services, publisher: CommandPublisher
) -> None:
    organization_id, license_ids = organization_with_licenses(settings, publisher, 2)
    delete_organization(settings, publisher, organization_id)
    license_deletions(services, organization_id, 2)
    deletion = deletion_event_id(settings, organization_id)

    # The saga again from offset 0 of both topics, with the memory it stored in Redis.
    services.saga.stop()
    group = f"{settings.redis_prefix}.cascade-delete-saga"
    inputs = [settings.topics.organization_events, settings.topics.license_events]
    ends = last_offsets(settings, inputs)
    rewind(settings, group, inputs)
    services.start_saga()
    wait_until_consumed(settings, group, ends, services.saga)

    expected = {cascade_command_id(deletion, lic) for lic in license_ids}
    commands = [
        r
        for r, _ in records_of(settings, settings.topics.license_commands, organization_id)
        if r.name == "ostock.license.DeleteLicense"
    ]
    # Re-issued, if at all, only under the same command ids: never a second deletion.
    assert {c.fields["meta"]["command_id"] for c in commands} == expected
    results_answering(settings, [c.fields["meta"]["command_id"] for c in commands])
    deletions = named(
        "ostock.license.LicenseDeleted",
        [r for r, _ in records_of(settings, settings.topics.license_events, organization_id)],
    )
    assert sorted(d.fields["meta"]["aggregate_id"] for d in deletions) == sorted(license_ids)


def test_a_license_created_during_the_deletion_is_rejected_or_deleted_too(
    settings: Settings, services: Services, publisher: CommandPublisher
) -> None:
    organization_id = new_organization(settings, publisher)
    grants = [
        license_command("create", organization_id, str(uuid4()), Issuer("tester"), OFFICE)
        for _ in range(12)
    ]
    delete = organization_command("delete", organization_id, Issuer("tester"))
    # Two topics, two handlers: the deletion races the grants sent around it, the later
    # ones spread out so that some are decided after the licensing service has seen it.
    publisher.publish([*grants[:4], delete])
    for grant in grants[4:]:
        time.sleep(0.02)
        publisher.publish([grant])
    results = results_for(settings, {c.meta.command_id for c in [*grants, delete]}, WAIT_S)
    assert results[delete.meta.command_id]["status"] == "accepted"
    accepted = [
        g.meta.aggregate_id for g in grants if results[g.meta.command_id]["status"] == "accepted"
    ]
    for grant in grants:
        result = results[grant.meta.command_id]
        assert result["status"] == "accepted" or result["error_code"] == "organization-deleted"

    deletions = license_deletions(services, organization_id, len(accepted))
    assert sorted(d.fields["meta"]["aggregate_id"] for d in deletions) == sorted(accepted)
    assert live_licenses(settings, organization_id) == set()


def last_offsets(settings: Settings, topics: list[str]) -> dict[TopicPartition, int]:
    """The offset of the last record of each partition that holds one (control records,
    such as transaction markers, are not records: a consumer never commits past them)."""
    last: dict[tuple[str, int], int] = {}
    for topic in topics:
        for message in read_all(settings, topic):
            key = (message.topic() or "", message.partition() or 0)
            last[key] = max(last.get(key, -1), message.offset() or 0)
    return {TopicPartition(topic, partition): offset for (topic, partition), offset in last.items()}


def rewind(settings: Settings, group: str, topics: list[str]) -> None:
    """Set the (stopped) group's offsets to 0 on every partition of `topics`."""
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    partitions = [
        TopicPartition(topic, partition, 0)
        for topic in topics
        for partition in range(settings.topic_partitions)
    ]
    deadline = time.monotonic() + WAIT_S
    while True:
        request = [ConsumerGroupTopicPartitions(group, partitions)]
        try:
            admin.alter_consumer_group_offsets(request)[group].result(timeout=10)
            return
        except KafkaException:
            # The stopped member may still be leaving the group.
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def wait_until_consumed(
    settings: Settings, group: str, last: dict[TopicPartition, int], saga: Worker
) -> None:
    """Wait until `group` has committed past each of the `last` offsets."""
    reader = Consumer(consumer_config(settings, group))
    deadline = time.monotonic() + WAIT_S
    try:
        while True:
            assert saga.alive(), saga.output()[-3000:]
            committed = {
                (tp.topic, tp.partition): tp.offset
                for tp in reader.committed(list(last), timeout=10)
            }
            if all(committed[(tp.topic, tp.partition)] > offset for tp, offset in last.items()):
                return
            assert time.monotonic() < deadline, f"{group} at {committed}, not past {last}"
            time.sleep(0.5)
    finally:
        reader.close()


def results_answering(settings: Settings, command_ids: list[str]) -> None:
    """Wait until the results topic answers each command as many times as it was sent."""

    def answered(messages: list[Message]) -> bool:
        keys = [(m.key() or b"").decode() for m in messages]
        return all(keys.count(c) >= command_ids.count(c) for c in set(command_ids))

    read_until(settings, settings.topics.command_results, answered, WAIT_S)
