"""The organization projector: organization events become organization views and histories."""

from ostock.settings import Settings
from ostock.views.keys import ORGANIZATIONS
from ostock.views.models import READ_MODELS
from streams.app import BatchApp
from streams.projector import add_model_projector


def install(app: BatchApp, settings: Settings) -> None:
    """Add the projector projecting settings.topics.organization_events."""
    add_model_projector(app, settings, READ_MODELS[ORGANIZATIONS])
