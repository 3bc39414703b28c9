"""The licensing service's projectors: license events become license views, the index of
each organization's licenses and license histories; organization events become the
service's own copy of organizations, which license reads are enriched with."""

from ostock.settings import Settings
from ostock.views.keys import LICENSES, ORGANIZATION_COPIES
from ostock.views.models import READ_MODELS
from streams.app import BatchApp
from streams.projector import add_model_projector


def install_licenses(app: BatchApp, settings: Settings) -> None:
    """Add the projector projecting settings.topics.license_events."""
    add_model_projector(app, settings, READ_MODELS[LICENSES])


def install_organizations(app: BatchApp, settings: Settings) -> None:
    """Add the projector copying settings.topics.organization_events for the licensing service."""
    add_model_projector(app, settings, READ_MODELS[ORGANIZATION_COPIES])
