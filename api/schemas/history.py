"""History bodies: an aggregate's events as its history view records them."""

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field


class HistoryEntry(BaseModel):
    """One event of an aggregate: what changed, when, and who asked for it."""

    type: str = Field(description="The event, e.g. LicenseUpdated.")
    version: int = Field(description="The aggregate's version after this event.")
    occurred_at: datetime
    command_id: UUID = Field(description="The command that caused it.")
    issued_by: str
    correlation_id: str
    changes: dict[str, Any] = Field(
        description="The fields the event carries, by name (for an update, the new values)."
    )


class History(BaseModel):
    """Every event of an aggregate, oldest first."""

    events: list[HistoryEntry]
