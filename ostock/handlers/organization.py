"""The organization service: organization commands in, organization events out."""

from typing import Any, ClassVar

from ostock.contract import Record, names
from ostock.domain.aggregate import Issued
from ostock.domain.organization import Organization, OrganizationDetails
from ostock.handlers.application import CommandApplication
from ostock.kafka.config import Headers


def _details(fields: dict[str, Any]) -> OrganizationDetails:
    return OrganizationDetails(
        name=fields["name"],
        contact_name=fields["contact_name"],
        contact_email=fields["contact_email"],
        contact_phone=fields["contact_phone"],
        # Commands written with v1 of the schema decode with website None.
        website=fields["website"],
    )


class OrganizationService(CommandApplication):
    """Decides organization commands with the Organization aggregate."""

    name = "organization-service"
    decisions: ClassVar[dict[str, str]] = {
        names.CREATE_ORGANIZATION: "create",
        names.UPDATE_ORGANIZATION: "update",
        names.DELETE_ORGANIZATION: "delete",
    }

    def create(self, command: Record, issued: Issued, headers: Headers) -> int:
        organization_id = self.aggregate_id(command)
        repeated = self.repeated_creation(organization_id, issued.command_id, "organization")
        if repeated is not None:
            return repeated
        organization = Organization.register(organization_id, _details(command.fields), issued)
        self.save(organization, headers=headers)
        return organization.version

    def update(self, command: Record, issued: Issued, headers: Headers) -> int:
        meta = command.fields["meta"]
        organization: Organization = self.get(self.aggregate_id(command), "organization")
        organization.update(_details(command.fields), issued, meta["expected_version"])
        self.save(organization, headers=headers)
        return organization.version_after(issued.command_id)

    def delete(self, command: Record, issued: Issued, headers: Headers) -> int:
        meta = command.fields["meta"]
        organization: Organization = self.get(self.aggregate_id(command), "organization")
        organization.delete(issued, meta["expected_version"])
        self.save(organization, headers=headers)
        return organization.version_after(issued.command_id)
