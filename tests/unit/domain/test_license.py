"""The License aggregate's rules, given past events, when a command, then events."""

from uuid import uuid4

import pytest

from ostock.domain.aggregate import Issued
from ostock.domain.errors import (
    AlreadyDeleted,
    InvalidField,
    OrganizationGone,
    UnknownOrganization,
    VersionConflict,
)
from ostock.domain.license import License, LicenseDetails, OrganizationStanding
from tests.unit.domain.scenario import given, refused

ORG = "3f0c6d8e-1111-4a4a-9999-000000000001"
LIVE = OrganizationStanding(ORG, deleted=False)
GONE = OrganizationStanding(ORG, deleted=True)
OFFICE = LicenseDetails("Office", "user", "ten seats", "renew in May")


def issued(command_id: str) -> Issued:
    return Issued(command_id=command_id, correlation_id="corr", issued_by="tester")


def granted() -> License:
    return License.grant(uuid4(), LIVE, ORG, OFFICE, issued("c1"))


def test_granting_records_created_with_its_organization() -> None:
    [created] = granted().collect_events()
    assert isinstance(created, License.Created)
    assert (created.organization_id, created.product_name, created.license_type) == (
        ORG,
        "Office",
        "user",
    )


def test_a_license_needs_a_known_organization() -> None:
    error = refused(
        lambda: License.grant(uuid4(), None, ORG, OFFICE, issued("c1")), UnknownOrganization
    )
    assert error.code == "organization-not-found"


def test_a_license_needs_a_live_organization() -> None:
    error = refused(
        lambda: License.grant(uuid4(), GONE, ORG, OFFICE, issued("c1")), OrganizationGone
    )
    assert error.code == "organization-deleted"


@pytest.mark.parametrize(
    "details",
    [
        LicenseDetails(" ", "user"),
        LicenseDetails("Office", ""),
        LicenseDetails("Office", "u" * 51),
        LicenseDetails("Office", "user", comment="c" * 2001),
    ],
)
def test_invalid_details_are_refused(details: LicenseDetails) -> None:
    refused(lambda: License.grant(uuid4(), LIVE, ORG, details, issued("c1")), InvalidField)


def test_update_replaces_details_and_keeps_the_organization() -> None:
    new = LicenseDetails("Office", "site")
    [updated] = (
        given(granted())
        .when(lambda lic: lic.update(new, LIVE, issued("c2"), expected_version=1))
        .then_events(License.Updated)
    )
    assert (updated.license_type, updated.organization_id, updated.originator_version) == (
        "site",
        ORG,
        2,
    )


def test_update_refused_on_version_conflict_and_for_a_deleted_organization() -> None:
    scenario = given(granted())
    scenario.when(lambda lic: lic.update(OFFICE, LIVE, issued("c2"), 3)).then_refused(
        VersionConflict
    )
    scenario.when(lambda lic: lic.update(OFFICE, GONE, issued("c2"), None)).then_refused(
        OrganizationGone
    )


def test_revoking_works_even_when_the_organization_is_gone_and_only_once() -> None:
    license_ = granted()
    license_.revoke(issued("c2"), expected_version=1)
    scenario = given(license_)
    scenario.when(lambda lic: lic.revoke(issued("c3"), None)).then_refused(AlreadyDeleted)
    repeated = scenario.when(lambda lic: lic.revoke(issued("c2"), None))
    repeated.then_events()
    assert repeated.aggregate.version_after("c2") == 2
