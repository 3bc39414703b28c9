"""Organization bodies: what a client sends, what the organization view holds."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.fields import ContactName, Email, Name, Phone, Website


class OrganizationBase(BaseModel):
    """The fields a client sets on an organization."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    contact_name: ContactName = ""
    contact_email: Email = ""
    contact_phone: Phone = ""
    website: Website = None


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
    website: str | None
    status: Literal["active"]
    version: int
    created_at: datetime
    updated_at: datetime
