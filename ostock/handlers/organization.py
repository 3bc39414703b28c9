"""The organization service: organization commands in, organization events out."""

from typing import ClassVar

from ostock.contract.records import (
    ORGANIZATION_COMMANDS,
    Command,
    CreateOrganization,
    DeleteOrganization,
    Kinds,
    UpdateOrganization,
)
from ostock.domain.aggregate import Issued
from ostock.domain.organization import Organization, OrganizationDetails
from ostock.handlers.application import CommandApplication
from ostock.kafka.config import Headers


def _details(command: CreateOrganization | UpdateOrganization) -> OrganizationDetails:
    return OrganizationDetails(
        name=command.name,
        contact_name=command.contact_name,
        contact_email=command.contact_email,
        contact_phone=command.contact_phone,
        # Commands written with v1 of the schema decode with website None.
        website=command.website,
    )


class OrganizationService(CommandApplication):
    """Decides organization commands with the Organization aggregate."""

    name = "organization-service"
    commands: ClassVar[Kinds[Command]] = ORGANIZATION_COMMANDS

    def handle(self, command: Command, issued: Issued, headers: Headers) -> int:
        match command:
            case CreateOrganization():
                return self.create(command, issued, headers)
            case UpdateOrganization():
                return self.update(command, issued, headers)
            case DeleteOrganization():
                return self.delete(command, issued, headers)
        raise TypeError(f"{type(command).__name__} is not an organization command")

    def create(self, command: CreateOrganization, issued: Issued, headers: Headers) -> int:
        organization_id = self.aggregate_id(command)
        repeated = self.repeated_creation(organization_id, issued.command_id, "organization")
        if repeated is not None:
            return repeated
        organization = Organization.register(organization_id, _details(command), issued)
        self.save(organization, headers=headers)
        return organization.version

    def update(self, command: UpdateOrganization, issued: Issued, headers: Headers) -> int:
        organization: Organization = self.get(self.aggregate_id(command), "organization")
        organization.update(_details(command), issued, command.meta.expected_version)
        self.save(organization, headers=headers)
        return organization.version_after(issued.command_id)

    def delete(self, command: DeleteOrganization, issued: Issued, headers: Headers) -> int:
        organization: Organization = self.get(self.aggregate_id(command), "organization")
        organization.delete(issued, command.meta.expected_version)
        self.save(organization, headers=headers)
        return organization.version_after(issued.command_id)
