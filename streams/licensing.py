"""The licensing service's projectors: license events become license views, the index of
each organization's licenses and license histories; organization events become the
service's own copy of organizations, which license reads are enriched with."""

from collections.abc import Sequence

import faust

from ostock.contract import Record
from ostock.settings import Settings
from ostock.views.keys import Keys
from ostock.views.licensing import LICENSE_EVENTS, license_view, organization_copy
from ostock.views.projection import ORGANIZATION_EVENTS, Write, history_entry
from ostock.views.store import ViewWriter
from streams.projector import add_projector


def install_licenses(app: faust.App, settings: Settings) -> None:
    """Add the agent projecting settings.topics.license_events."""
    keys = Keys(settings.redis_prefix)

    async def apply(writer: ViewWriter, events: Sequence[Record]) -> None:
        writes: list[Write] = []
        for event in events:
            writes += (license_view(event, keys), history_entry(event, keys))
        await writer.apply(writes)

    topics = [settings.topics.license_events]
    add_projector(app, settings, "license-views", topics, LICENSE_EVENTS, apply)


def install_organizations(app: faust.App, settings: Settings) -> None:
    """Add the agent copying settings.topics.organization_events for the licensing service."""
    keys = Keys(settings.redis_prefix)

    async def apply(writer: ViewWriter, events: Sequence[Record]) -> None:
        await writer.apply([organization_copy(event, keys) for event in events])

    topics = [settings.topics.organization_events]
    add_projector(app, settings, "organization-copies", topics, ORGANIZATION_EVENTS, apply)
