"""The organization projector: organization events become organization views and histories."""

from collections.abc import Sequence

import faust

from ostock.contract import Record
from ostock.settings import Settings
from ostock.views.keys import Keys
from ostock.views.projection import (
    ORGANIZATION_EVENTS,
    Write,
    history_entry,
    organization_view,
)
from ostock.views.store import ViewWriter
from streams.projector import add_projector


def install(app: faust.App, settings: Settings) -> None:
    """Add the agent projecting settings.topics.organization_events."""
    keys = Keys(settings.redis_prefix)

    async def apply(writer: ViewWriter, events: Sequence[Record]) -> None:
        writes: list[Write] = []
        for event in events:
            writes += (organization_view(event, keys), history_entry(event, keys))
        await writer.apply(writes)

    add_projector(
        app,
        settings,
        "organization-views",
        [settings.topics.organization_events],
        ORGANIZATION_EVENTS,
        apply,
    )
