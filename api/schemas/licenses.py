"""License bodies: what a client sends, the enriched license view, a page of them."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.fields import LicenseType, Name, Text


class LicenseBase(BaseModel):
    """The fields a client sets on a license."""

    model_config = ConfigDict(extra="forbid")

    product_name: Name
    license_type: LicenseType
    description: Text = ""
    comment: Text = ""


class LicenseCreate(LicenseBase):
    """A new license of an organization."""


class LicenseUpdate(LicenseBase):
    """Every field of a license (a PUT replaces them all)."""

    expected_version: int | None = Field(
        default=None, ge=0, description="Apply only if the license is at this version."
    )


class LicensePublic(BaseModel):
    """The license view as the projector writes it, joined when read with its organization's
    details from the licensing service's own copy (null until that copy has them)."""

    license_id: UUID
    organization_id: UUID
    product_name: str
    license_type: str
    description: str
    comment: str
    status: Literal["active"]
    version: int
    created_at: datetime
    updated_at: datetime
    organization_name: str | None
    contact_name: str | None
    contact_email: str | None
    contact_phone: str | None


class LicensePage(BaseModel):
    """One page of an organization's licenses; follow `next_cursor` for the next."""

    items: list[LicensePublic]
    total: int = Field(description="How many licenses the organization holds.")
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null last.")
    limit: int = Field(description="The most items a page holds, as asked.")
