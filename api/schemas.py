"""Request and response bodies. Bounds and formats come from the domain's field rules,
so the API refuses early exactly what the write side would reject.

Unknown fields are rejected (422): a misspelt field would otherwise be dropped
silently, and on a PUT, which replaces every field, that would erase a value.
"""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from ostock.domain import fields
from ostock.domain.errors import InvalidField


def _valid_email(value: str) -> str:
    try:
        return fields.email("contact_email", value)
    except InvalidField as error:
        raise ValueError(error.message) from None


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=fields.NAME_MAX)
]
ContactName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=fields.NAME_MAX)]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=fields.EMAIL_MAX),
    AfterValidator(_valid_email),
    Field(description="An e-mail address, or empty."),
]
Phone = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, max_length=fields.PHONE_MAX, pattern=fields.PHONE_PATTERN.pattern
    ),
    Field(description="Digits, spaces and + - ( ) . /, or empty."),
]


class OrganizationBase(BaseModel):
    """The fields a client sets on an organization."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    contact_name: ContactName = ""
    contact_email: Email = ""
    contact_phone: Phone = ""


class OrganizationCreate(OrganizationBase):
    """A new organization."""


class OrganizationUpdate(OrganizationBase):
    """Every field of an organization (a PUT replaces them all)."""

    expected_version: int | None = Field(
        default=None, ge=0, description="Apply only if the organization is at this version."
    )


class OrganizationPublic(BaseModel):
    """The organization view as the projector writes it (ostock.views.projection)."""

    organization_id: UUID
    name: str
    contact_name: str
    contact_email: str
    contact_phone: str
    status: Literal["active"]
    version: int
    created_at: datetime
    updated_at: datetime


class CommandAccepted(BaseModel):
    """A command published and waiting for its decision; poll the Location to follow it."""

    command_id: UUID
    organization_id: UUID
    status: Literal["pending"]


class CommandStatusPublic(BaseModel):
    """A command's status as the command-status projector writes it; it expires in time."""

    command_id: UUID
    status: Literal["pending", "accepted", "rejected"]
    command_type: str = Field(description="Full name of the command record.")
    aggregate_id: UUID
    organization_id: UUID
    version: int | None = Field(description="Aggregate version once accepted.")
    error_code: str | None = Field(description="Stable reason once rejected.")
    error_message: str | None
    decided_at: datetime | None


class Readiness(BaseModel):
    """Whether each dependency answers."""

    kafka: Literal["up", "down"]
    redis: Literal["up", "down"]
