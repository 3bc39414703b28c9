"""Command bodies: the 202 answer to a write, and the status it leads to."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field


class CommandAccepted(BaseModel):
    """A command published and waiting for its decision; poll the Location to follow it."""

    command_id: UUID
    organization_id: UUID
    status: Literal["pending"]


class LicenseCommandAccepted(BaseModel):
    """A license command published and waiting for its decision; poll the Location."""

    command_id: UUID
    organization_id: UUID
    license_id: UUID
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
