"""The organization service: organization commands in, organization events out."""

from collections.abc import Callable
from typing import Any

from ostock.contract import Record
from ostock.domain.aggregate import Issued
from ostock.domain.errors import AlreadyExists
from ostock.domain.organization import Organization, OrganizationDetails
from ostock.handlers.application import CommandApplication
from ostock.kafka import Headers


def _details(fields: dict[str, Any]) -> OrganizationDetails:
    return OrganizationDetails(
        name=fields["name"],
        contact_name=fields["contact_name"],
        contact_email=fields["contact_email"],
        contact_phone=fields["contact_phone"],
    )


class OrganizationService(CommandApplication):
    """Decides organization commands with the Organization aggregate."""

    name = "organization-service"

    def handle(self, command: Record, issued: Issued, headers: Headers) -> int:
        return DECISIONS[command.name](self, command, issued, headers)

    def create(self, command: Record, issued: Issued, headers: Headers) -> int:
        organization_id = self.aggregate_id(command)
        existing = self.find(organization_id)
        if existing is not None:
            outcome = existing.outcome_of(issued.command_id)
            if outcome is None:
                raise AlreadyExists(f"organization {organization_id} already exists")
            return int(outcome)
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


Decision = Callable[[OrganizationService, Record, Issued, Headers], int]

DECISIONS: dict[str, Decision] = {
    "ostock.organization.CreateOrganization": OrganizationService.create,
    "ostock.organization.UpdateOrganization": OrganizationService.update,
    "ostock.organization.DeleteOrganization": OrganizationService.delete,
}
