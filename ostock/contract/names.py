"""The full name of every record of the contract (schemas/), defined once."""

CREATE_ORGANIZATION = "ostock.organization.CreateOrganization"
UPDATE_ORGANIZATION = "ostock.organization.UpdateOrganization"
DELETE_ORGANIZATION = "ostock.organization.DeleteOrganization"
CREATE_LICENSE = "ostock.license.CreateLicense"
UPDATE_LICENSE = "ostock.license.UpdateLicense"
DELETE_LICENSE = "ostock.license.DeleteLicense"

ORGANIZATION_CREATED = "ostock.organization.OrganizationCreated"
ORGANIZATION_UPDATED = "ostock.organization.OrganizationUpdated"
ORGANIZATION_DELETED = "ostock.organization.OrganizationDeleted"
LICENSE_CREATED = "ostock.license.LicenseCreated"
LICENSE_UPDATED = "ostock.license.LicenseUpdated"
LICENSE_DELETED = "ostock.license.LicenseDeleted"

COMMAND_RESULT = "ostock.CommandResult"

ORGANIZATION_EVENTS = (ORGANIZATION_CREATED, ORGANIZATION_UPDATED, ORGANIZATION_DELETED)
LICENSE_EVENTS = (LICENSE_CREATED, LICENSE_UPDATED, LICENSE_DELETED)
EVENTS = (*ORGANIZATION_EVENTS, *LICENSE_EVENTS)
COMMANDS = (
    CREATE_ORGANIZATION,
    UPDATE_ORGANIZATION,
    DELETE_ORGANIZATION,
    CREATE_LICENSE,
    UPDATE_LICENSE,
    DELETE_LICENSE,
)
