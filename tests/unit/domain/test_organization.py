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
        (OrganizationDetails("Acme", website="acme.example"), "website must be an http(s) URL"),
        (OrganizationDetails("Acme", website="ftp://acme.example"), "website"),
        (OrganizationDetails("Acme", website="https://"), "website"),
        (OrganizationDetails("Acme", website="https://acme.example:http"), "website"),
        (OrganizationDetails("Acme", website="https://acme .example"), "website"),
        (OrganizationDetails("Acme", website="https://a.example/" + "p" * 2048), "at most 2048"),
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


@pytest.mark.parametrize(
    ("website", "stored"),
    [
        (None, None),
        ("   ", None),
        (" https://acme.example/about ", "https://acme.example/about"),
        ("HTTP://acme.example:8080/?q=1#top", "HTTP://acme.example:8080/?q=1#top"),
        ("https://[2001:db8::1]/", "https://[2001:db8::1]/"),
    ],
)
def test_the_website_is_optional_and_stored_stripped(
    website: str | None, stored: str | None
) -> None:
    organization = Organization.register(
        uuid4(), OrganizationDetails("Acme", website=website), issued("c1")
    )
    [created] = organization.collect_events()
    assert isinstance(created, Organization.Created)
    assert created.website == stored
    assert organization.details.website == stored


def test_update_sets_and_clears_the_website() -> None:
    with_site = OrganizationDetails("Acme", website="https://acme.example")
    [updated] = (
        given(registered())
        .when(lambda o: o.update(with_site, issued("c2"), None))
        .then_events(Organization.Updated)
    )
    assert updated.website == "https://acme.example"

    organization = registered()
    organization.update(with_site, issued("c2"), None)
    outcome = given(organization).when(
        lambda o: o.update(OrganizationDetails("Acme"), issued("c3"), None)
    )
    [cleared] = outcome.then_events(Organization.Updated)
    assert cleared.website is None
    assert outcome.aggregate.details.website is None


def test_an_invalid_website_is_refused_on_update_with_the_invalid_field_code() -> None:
    outcome = given(registered()).when(
        lambda o: o.update(
            OrganizationDetails("Acme", website="javascript:alert(1)"), issued("c2"), None
        )
    )
    outcome.then_refused(InvalidField, "website")
    assert outcome.error is not None and outcome.error.code == "invalid-field"
