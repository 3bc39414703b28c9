"""The License aggregate, owned by the licensing service.

The licensing service knows organizations only from organization events; the
standing it has learned is passed in, and the rules about it live here.
"""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ostock.domain import fields
from ostock.domain.aggregate import Issued, TrackedAggregate
from ostock.domain.errors import OrganizationGone, UnknownOrganization

LICENSE_TYPE_MAX = 50


@dataclass(frozen=True)
class LicenseDetails:
    """The fields a client sets on a license."""

    product_name: str
    license_type: str
    description: str = ""
    comment: str = ""

    def validated(self) -> "LicenseDetails":
        """The same details normalized, or InvalidField naming the first bad field."""
        return LicenseDetails(
            product_name=fields.required("product_name", self.product_name),
            license_type=fields.required("license_type", self.license_type, LICENSE_TYPE_MAX),
            description=fields.bounded("description", self.description, fields.TEXT_MAX),
            comment=fields.bounded("comment", self.comment, fields.TEXT_MAX),
        )


@dataclass(frozen=True)
class OrganizationStanding:
    """What the licensing service has learned of an organization from its events."""

    organization_id: str
    deleted: bool

    def check_live(self) -> None:
        """Refuse anything new for a deleted organization."""
        if self.deleted:
            raise OrganizationGone(f"organization {self.organization_id} is deleted")


def require_known(
    organization_id: str, standing: OrganizationStanding | None
) -> OrganizationStanding:
    """The standing of an organization the service has heard of, or UnknownOrganization."""
    if standing is None:
        raise UnknownOrganization(f"organization {organization_id} does not exist")
    return standing


class License(TrackedAggregate):
    """A license held by an organization."""

    class Event(TrackedAggregate.Event):
        organization_id: str

    class Created(Event, TrackedAggregate.Created):
        product_name: str
        license_type: str
        description: str
        comment: str

    class Updated(Event):
        product_name: str
        license_type: str
        description: str
        comment: str

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            aggregate.details = LicenseDetails(
                self.product_name, self.license_type, self.description, self.comment
            )

    class Deleted(Event):
        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            aggregate.deleted = True

    def __init__(
        self,
        organization_id: str,
        product_name: str,
        license_type: str,
        description: str,
        comment: str,
        command_id: str,
        correlation_id: str,
        issued_by: str,
    ) -> None:
        self.organization_id = organization_id
        self.details = LicenseDetails(product_name, license_type, description, comment)
        self._remember_creation(command_id)

    @classmethod
    def grant(
        cls,
        license_id: UUID,
        organization: OrganizationStanding | None,
        organization_id: str,
        details: LicenseDetails,
        issued: Issued,
    ) -> "License":
        """A new license for a live organization, if its details are valid."""
        require_known(organization_id, organization).check_live()
        return cls._create(
            cls.Created,
            id=license_id,
            organization_id=organization_id,
            **vars(details.validated()),
            **vars(issued),
        )

    def update(
        self,
        details: LicenseDetails,
        organization: OrganizationStanding | None,
        issued: Issued,
        expected_version: int | None,
    ) -> None:
        """Replace the details; the organization must still be live."""
        if self.outcome_of(issued.command_id) is not None:
            return
        self.check_changeable(expected_version)
        require_known(self.organization_id, organization).check_live()
        self.trigger_event(
            self.Updated,
            organization_id=self.organization_id,
            **vars(details.validated()),
            **vars(issued),
        )

    def revoke(self, issued: Issued, expected_version: int | None) -> None:
        """Delete the license (also when its organization is gone: the cascade does this)."""
        if self.outcome_of(issued.command_id) is not None:
            return
        self.check_changeable(expected_version)
        self.trigger_event(self.Deleted, organization_id=self.organization_id, **vars(issued))
