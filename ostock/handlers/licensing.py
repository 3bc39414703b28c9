"""The licensing service: license commands in, license events out.

It knows organizations only from organization events (OrganizationDirectory).
"""

from typing import ClassVar

from ostock.contract import Codec
from ostock.contract.records import (
    LICENSE_COMMANDS,
    Command,
    CreateLicense,
    DeleteLicense,
    Kinds,
    LicenseCommand,
    UpdateLicense,
)
from ostock.domain.aggregate import Issued
from ostock.domain.errors import NotFound
from ostock.domain.license import License, LicenseDetails, OrganizationStanding
from ostock.handlers.application import CommandApplication
from ostock.handlers.directory import OrganizationDirectory
from ostock.kafka.config import Headers


def _details(command: CreateLicense | UpdateLicense) -> LicenseDetails:
    return LicenseDetails(
        product_name=command.product_name,
        license_type=command.license_type,
        description=command.description,
        comment=command.comment,
    )


class LicensingService(CommandApplication):
    """Decides license commands with the License aggregate."""

    name = "licensing-service"
    commands: ClassVar[Kinds[Command]] = LICENSE_COMMANDS

    def __init__(
        self, directory: OrganizationDirectory, env: dict[str, str], codec: Codec | None = None
    ) -> None:
        self.directory = directory
        super().__init__(env=env, codec=codec)

    def assigned(self, partitions: list[int]) -> None:
        self.directory.assign(partitions)

    def before_batch(self) -> None:
        self.directory.poll()

    def organization(self, organization_id: str) -> OrganizationStanding | None:
        """The organization's standing; before an unknown one is called unknown, the
        organization commands issued so far are awaited and their events read."""
        standing = self.directory.standing(organization_id)
        if standing is None:
            self.directory.settle()
            standing = self.directory.standing(organization_id)
        return standing

    def handle(self, command: Command, issued: Issued, headers: Headers) -> int:
        match command:
            case CreateLicense():
                return self.create(command, issued, headers)
            case UpdateLicense():
                return self.update(command, issued, headers)
            case DeleteLicense():
                return self.delete(command, issued, headers)
        raise TypeError(f"{type(command).__name__} is not a license command")

    def create(self, command: CreateLicense, issued: Issued, headers: Headers) -> int:
        license_id = self.aggregate_id(command)
        organization_id = command.meta.organization_id
        repeated = self.repeated_creation(license_id, issued.command_id, "license")
        if repeated is not None:
            return repeated
        granted = License.grant(
            license_id,
            self.organization(organization_id),
            organization_id,
            _details(command),
            issued,
        )
        self.save(granted, headers=headers)
        return granted.version

    def update(self, command: UpdateLicense, issued: Issued, headers: Headers) -> int:
        held = self._license(command)
        held.update(
            _details(command),
            self.organization(held.organization_id),
            issued,
            command.meta.expected_version,
        )
        self.save(held, headers=headers)
        return held.version_after(issued.command_id)

    def delete(self, command: DeleteLicense, issued: Issued, headers: Headers) -> int:
        held = self._license(command)
        held.revoke(issued, command.meta.expected_version)
        self.save(held, headers=headers)
        return held.version_after(issued.command_id)

    def _license(self, command: LicenseCommand) -> License:
        """The license the command names, which must belong to the command's organization."""
        license_id = self.aggregate_id(command)
        held = self.get(license_id, "license")
        if held.organization_id != command.meta.organization_id:
            raise NotFound(f"license {license_id} does not belong to that organization")
        assert isinstance(held, License)
        return held
