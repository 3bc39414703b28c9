"""The cascade-delete saga's decisions."""

from ostock.contract.records import name_of
from ostock.sagas.cascade_delete import (
    OrganizationMemory,
    cascade_command_id,
    on_license_created,
    on_license_deleted,
    on_organization_deleted,
)

ORG = "org-1"


def test_deleting_an_organization_deletes_each_live_license() -> None:
    memory, _ = on_license_created(OrganizationMemory(), ORG, "lic-a")
    memory, _ = on_license_created(memory, ORG, "lic-b")
    memory = on_license_deleted(memory, "lic-a")
    memory, commands = on_organization_deleted(memory, ORG, "event-1", "corr-1")
    assert [c.meta.aggregate_id for c in commands] == ["lic-b"]
    [command] = commands
    assert name_of(command) == "ostock.license.DeleteLicense"
    assert command.meta.organization_id == ORG
    assert command.meta.command_id == cascade_command_id("event-1", "lic-b")
    assert command.meta.correlation_id == "corr-1"
    assert command.meta.issued_by == "saga:cascade-delete"


def test_a_redelivered_deletion_issues_nothing_more() -> None:
    memory, _ = on_license_created(OrganizationMemory(), ORG, "lic-a")
    memory, first = on_organization_deleted(memory, ORG, "event-1", "corr-1")
    memory, second = on_organization_deleted(memory, ORG, "event-1", "corr-1")
    assert len(first) == 1
    assert second == []


def test_command_ids_are_the_same_whenever_the_decision_is_made() -> None:
    memory, _ = on_license_created(OrganizationMemory(), ORG, "lic-a")
    _, once = on_organization_deleted(memory, ORG, "event-1", "corr")
    _, again = on_organization_deleted(memory, ORG, "event-1", "corr")
    assert [c.meta.command_id for c in once] == [c.meta.command_id for c in again]


def test_a_license_created_during_the_deletion_is_deleted_too() -> None:
    memory, _ = on_organization_deleted(OrganizationMemory(), ORG, "event-1", "corr-1")
    memory, commands = on_license_created(memory, ORG, "late")
    assert [(name_of(c), c.meta.aggregate_id) for c in commands] == [
        ("ostock.license.DeleteLicense", "late")
    ]
    assert commands[0].meta.command_id == cascade_command_id("event-1", "late")


def test_nothing_is_deleted_while_the_organization_lives() -> None:
    memory, commands = on_license_created(OrganizationMemory(), ORG, "lic-a")
    assert commands == []
    assert memory.live_licenses == {"lic-a"}
