"""The Organization aggregate, owned by the organization service."""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ostock.domain import fields
from ostock.domain.aggregate import Issued, TrackedAggregate


@dataclass(frozen=True)
class OrganizationDetails:
    """The fields a client sets on an organization."""

    name: str
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    website: str | None = None

    def validated(self) -> "OrganizationDetails":
        """The same details normalized, or InvalidField naming the first bad field."""
        return OrganizationDetails(
            name=fields.required("name", self.name),
            contact_name=fields.bounded("contact_name", self.contact_name, fields.NAME_MAX),
            contact_email=fields.email("contact_email", self.contact_email),
            contact_phone=fields.phone("contact_phone", self.contact_phone),
            website=fields.website("website", self.website),
        )


class Organization(TrackedAggregate):
    """A customer organization: its name, contact and website."""

    class Created(TrackedAggregate.Created):
        name: str
        contact_name: str
        contact_email: str
        contact_phone: str
        website: str | None

    class Updated(TrackedAggregate.Event):
        name: str
        contact_name: str
        contact_email: str
        contact_phone: str
        website: str | None

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            aggregate.details = OrganizationDetails(
                self.name, self.contact_name, self.contact_email, self.contact_phone, self.website
            )

    class Deleted(TrackedAggregate.Event):
        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            aggregate.deleted = True

    def __init__(
        self,
        name: str,
        contact_name: str,
        contact_email: str,
        contact_phone: str,
        website: str | None,
        command_id: str,
        correlation_id: str,
        issued_by: str,
    ) -> None:
        self.details = OrganizationDetails(
            name, contact_name, contact_email, contact_phone, website
        )
        self._remember_creation(command_id)

    @classmethod
    def register(
        cls, organization_id: UUID, details: OrganizationDetails, issued: Issued
    ) -> "Organization":
        """A new organization, if its details are valid."""
        return cls._create(
            cls.Created, id=organization_id, **vars(details.validated()), **vars(issued)
        )

    def update(
        self, details: OrganizationDetails, issued: Issued, expected_version: int | None
    ) -> None:
        """Replace the details; a repeated command changes nothing."""
        if self.outcome_of(issued.command_id) is not None:
            return
        self.check_changeable(expected_version)
        self.trigger_event(self.Updated, **vars(details.validated()), **vars(issued))

    def delete(self, issued: Issued, expected_version: int | None) -> None:
        """Mark the organization deleted; its history stays."""
        if self.outcome_of(issued.command_id) is not None:
            return
        self.check_changeable(expected_version)
        self.trigger_event(self.Deleted, **vars(issued))
