"""The licensing service's command handler as a real process: it knows organizations
only from organization events, yet accepts a license created right after its organization."""

import time
from pathlib import Path
from uuid import uuid4

import pytest

from ostock.commands import Issuer, license_command, organization_command
from ostock.kafka.publisher import CommandPublisher
from ostock.settings import Settings
from tests.decisions import assert_decided_rightly
from tests.flow import Flow, created, grants_and_changes
from tests.kafka_helpers import results_for
from tests.processes import Worker

pytestmark = pytest.mark.integration

ACME = {"name": "Acme", "contact_name": "", "contact_email": "", "contact_phone": ""}
OFFICE = {"product_name": "Office", "license_type": "user", "description": "", "comment": ""}


@pytest.fixture(scope="module")
def handlers(system: dict[str, Worker], settings: Settings) -> dict[str, Worker]:
    """The session's handlers, once both decide commands."""
    _await_both_deciding(settings)
    return {
        "organization": system["organization-handler"],
        "licensing": system["licensing-handler"],
    }


def _await_both_deciding(settings: Settings) -> None:
    organization_id = str(uuid4())
    create = organization_command("create", organization_id, Issuer("tester"), ACME)
    CommandPublisher(settings).publish([create])
    results_for(settings, {create.meta.command_id})
    grant = license_command("create", organization_id, str(uuid4()), Issuer("tester"), OFFICE)
    CommandPublisher(settings).publish([grant])
    results_for(settings, {grant.meta.command_id})


@pytest.fixture(scope="module")
def publisher(settings: Settings) -> CommandPublisher:
    return CommandPublisher(settings)


def test_a_license_right_after_its_organization_is_accepted(
    settings: Settings, handlers: dict[str, Worker], publisher: CommandPublisher
) -> None:
    organization_id = str(uuid4())
    create = organization_command("create", organization_id, Issuer("tester"), ACME)
    publisher.publish([create])
    # The client holds "accepted" for the organization and at once asks for a license.
    assert (
        results_for(settings, {create.meta.command_id})[create.meta.command_id]["status"]
        == "accepted"
    )
    grant = license_command("create", organization_id, str(uuid4()), Issuer("tester"), OFFICE)
    publisher.publish([grant])
    result = results_for(settings, {grant.meta.command_id})[grant.meta.command_id]
    assert (result["status"], result["version"]) == ("accepted", 1)


def test_licenses_for_unknown_and_deleted_organizations_are_rejected_with_their_codes(
    settings: Settings, handlers: dict[str, Worker], publisher: CommandPublisher
) -> None:
    unknown = license_command("create", str(uuid4()), str(uuid4()), Issuer("tester"), OFFICE)
    organization_id = str(uuid4())
    create = organization_command("create", organization_id, Issuer("tester"), ACME)
    delete = organization_command("delete", organization_id, Issuer("tester"))
    publisher.publish([unknown, create, delete])
    results_for(settings, {delete.meta.command_id})
    late = license_command("create", organization_id, str(uuid4()), Issuer("tester"), OFFICE)
    publisher.publish([late])
    results = results_for(settings, {unknown.meta.command_id, late.meta.command_id})
    assert results[unknown.meta.command_id]["error_code"] == "organization-not-found"
    assert results[late.meta.command_id]["error_code"] == "organization-deleted"
    assert results[late.meta.command_id]["status"] == "rejected"


def test_a_license_of_another_organization_is_not_found(
    settings: Settings, handlers: dict[str, Worker], publisher: CommandPublisher
) -> None:
    owner, other = str(uuid4()), str(uuid4())
    license_id = str(uuid4())
    creates = [organization_command("create", o, Issuer("tester"), ACME) for o in (owner, other)]
    publisher.publish(creates)
    results_for(settings, {c.meta.command_id for c in creates})
    grant = license_command("create", owner, license_id, Issuer("tester"), OFFICE)
    publisher.publish([grant])
    results_for(settings, {grant.meta.command_id})
    wrong = license_command("delete", other, license_id, Issuer("tester"))
    publisher.publish([wrong])
    assert (
        results_for(settings, {wrong.meta.command_id})[wrong.meta.command_id]["error_code"]
        == "not-found"
    )


def test_a_license_sent_before_its_organization_is_decided_is_accepted(
    settings: Settings, handlers: dict[str, Worker], publisher: CommandPublisher
) -> None:
    pairs = []
    for _ in range(5):
        organization_id = str(uuid4())
        pairs.append(
            (
                organization_command("create", organization_id, Issuer("tester"), ACME),
                license_command("create", organization_id, str(uuid4()), Issuer("tester"), OFFICE),
            )
        )
    # The organization service is away when both commands go out, so the licensing
    # service sees each license before its organization is decided.
    handlers["organization"].stop()
    publisher.publish([command for pair in pairs for command in pair])
    time.sleep(1)
    handlers["organization"].start()
    results = results_for(settings, {grant.meta.command_id for _, grant in pairs})
    assert [results[grant.meta.command_id]["status"] for _, grant in pairs] == ["accepted"] * 5


def test_a_second_instance_joining_and_leaving_under_load_decides_every_license_rightly(
    settings: Settings,
    handlers: dict[str, Worker],
    publisher: CommandPublisher,
    tmp_path: Path,
) -> None:
    """Licenses keep coming, from a client that partitions like Java and one that does
    not, while a second licensing instance joins and leaves: whoever owns a partition
    knows every organization of it, so no license of a live organization is refused."""
    organizations = created(settings, publisher, 40)
    licensing = grants_and_changes(organizations, 8)
    second = Worker(
        ["worker", "handler", "licensing", "--instance", "second"],
        settings,
        tmp_path / "second-licensing.log",
    )
    try:
        with Flow(settings, licensing):
            second.start()
            second.wait_for("assigned", timeout_s=60)
            time.sleep(6)  # both own partitions
            second.stop()
    finally:
        second.stop()
    topics = settings.topics
    assert_decided_rightly(settings, licensing, topics.license_commands, topics.license_events)
