"""The Organization aggregate's rules, given past events, when a command, then events."""

from uuid import uuid4

import pytest

from ostock.domain.aggregate import Issued
from ostock.domain.errors import AlreadyDeleted, InvalidField, VersionConflict
from ostock.domain.organization import Organization, OrganizationDetails
from tests.unit.domain.scenario import given, refused

ACME = OrganizationDetails("Acme", "Ada", "ada@acme.example", "+44 20 7946 0000")


def issued(command_id: str) -> Issued:
    return Issued(command_id=command_id, correlation_id="corr", issued_by="tester")


def registered() -> Organization:
    return Organization.register(uuid4(), ACME, issued("c1"))


def test_registering_records_created_with_normalized_details() -> None:
    organization = Organization.register(
        uuid4(), OrganizationDetails("  Acme  ", contact_email="Ada@ACME.example"), issued("c1")
    )
    [created] = organization.collect_events()
    assert isinstance(created, Organization.Created)
    assert created.name == "Acme"
    assert created.contact_email == "Ada@acme.example"
    assert created.command_id == "c1"
    assert organization.version == 1


@pytest.mark.parametrize(
    ("details", "message"),
    [
        (OrganizationDetails("   "), "name is required"),
        (OrganizationDetails("x" * 201), "name must be at most 200"),
        (OrganizationDetails("Acme", contact_email="not-an-email"), "contact_email"),
        (OrganizationDetails("Acme", contact_phone="call me"), "contact_phone"),
        (OrganizationDetails("Acme", contact_name="y" * 201), "contact_name"),
    ],
)
def test_invalid_details_are_refused(details: OrganizationDetails, message: str) -> None:
    error = refused(lambda: Organization.register(uuid4(), details, issued("c1")), InvalidField)
    assert message in error.message


def test_update_replaces_details() -> None:
    new = OrganizationDetails("Acme Ltd", "Grace", "grace@acme.example", "")
    [updated] = (
        given(registered())
        .when(lambda o: o.update(new, issued("c2"), expected_version=1))
        .then_events(Organization.Updated)
    )
    assert (updated.name, updated.contact_name, updated.originator_version) == (
        "Acme Ltd",
        "Grace",
        2,
    )


def test_update_at_an_unexpected_version_is_refused() -> None:
    given(registered()).when(
        lambda o: o.update(ACME, issued("c2"), expected_version=5)
    ).then_refused(VersionConflict, "expected version 5")


def test_a_repeated_command_changes_nothing() -> None:
    organization = registered()
    organization.update(OrganizationDetails("Acme Ltd"), issued("c2"), None)
    outcome = given(organization).when(
        lambda o: o.update(OrganizationDetails("Other"), issued("c2"), None)
    )
    outcome.then_events()
    assert outcome.aggregate.outcome_of("c2") == 2
    assert outcome.aggregate.details.name == "Acme Ltd"


def test_delete_then_nothing_changes_it() -> None:
    organization = registered()
    organization.delete(issued("c2"), expected_version=1)
    assert organization.deleted
    deleted = given(organization)
    deleted.when(lambda o: o.update(ACME, issued("c3"), None)).then_refused(AlreadyDeleted)
    deleted.when(lambda o: o.delete(issued("c4"), None)).then_refused(AlreadyDeleted)


def test_repeating_the_delete_command_reports_its_version() -> None:
    organization = registered()
    organization.delete(issued("c2"), None)
    outcome = given(organization).when(lambda o: o.delete(issued("c2"), None))
    outcome.then_events()
    assert outcome.aggregate.outcome_of("c2") == 2


def test_invalid_update_is_refused_without_events() -> None:
    given(registered()).when(
        lambda o: o.update(OrganizationDetails(""), issued("c2"), None)
    ).then_refused(InvalidField)
