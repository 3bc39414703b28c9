"""The command-status projector: a command seen on its topic is pending until its result
(on the command-results topic) decides it; a decision is final, whichever comes first."""

from collections.abc import Sequence

from ostock.contract.records import COMMANDS, RESULTS, Command, CommandResult
from ostock.settings import Settings, Topics
from ostock.views.command_status import decided_status, pending_status
from ostock.views.keys import Keys
from ostock.views.models import Positioned
from ostock.views.writer import ViewWriter
from streams.app import BatchApp
from streams.projector import add_projector


def command_topics(topics: Topics) -> list[str]:
    """Every command topic: a new service adds its own (and its commands to COMMANDS)."""
    return [topics.organization_commands, topics.license_commands]


def install(app: BatchApp, settings: Settings) -> None:
    """Add the projectors marking commands pending and recording their results."""
    keys = Keys(settings.redis_prefix)
    ttl_s = settings.command_status_ttl_s
    commands = command_topics(settings.topics)

    async def pending(writer: ViewWriter, records: Sequence[Positioned[Command]]) -> None:
        await writer.command_statuses(pending_status(r.record, keys, ttl_s) for r in records)

    async def decided(writer: ViewWriter, records: Sequence[Positioned[CommandResult]]) -> None:
        await writer.command_statuses(decided_status(r.record, keys, ttl_s) for r in records)

    add_projector(app, settings, "pending-commands", commands, COMMANDS, pending)
    results = [settings.topics.command_results]
    add_projector(app, settings, "command-results", results, RESULTS, decided)
