"""The organization projector: organization events become organization views and histories."""

import faust

from ostock.settings import Settings
from ostock.views.keys import ORGANIZATIONS
from ostock.views.models import READ_MODELS
from streams.projector import add_model_projector


def install(app: faust.App, settings: Settings) -> None:
    """Add the agent projecting settings.topics.organization_events."""
    add_model_projector(app, settings, READ_MODELS[ORGANIZATIONS])
