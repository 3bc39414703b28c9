"""`ostock worker`: run one deployable of the system in the foreground."""

import logging
from typing import Annotated

import typer

from ostock.auth.configured import AuthConfigError
from ostock.deployables import instance_name
from ostock.eventstore.transactions import WriterFenced
from ostock.handlers.worker import SERVICES, run_handler
from ostock.kafka.config import PartitioningError
from ostock.logs import configure_logging
from ostock.settings import Settings
from ostock.telemetry.lag_exporter import NAME, run_lag_exporter

app = typer.Typer(help="Run one worker process in the foreground.", no_args_is_help=True)


@app.command()
def handler(
    service: Annotated[str, typer.Argument(help=f"One of: {', '.join(SERVICES)}.")],
    instance: Annotated[
        str | None,
        typer.Option(
            help="Stable name of this writer; a restart with it fences the old one. "
            "Default: OSTOCK_INSTANCE, else the host's name."
        ),
    ] = None,
) -> None:
    """A service's command handler: commands in, events and results out."""
    if service not in SERVICES:
        raise typer.BadParameter(f"unknown service {service!r}; known: {', '.join(SERVICES)}")
    settings = Settings()
    configure_logging(settings, f"{service}-handler")
    try:
        run_handler(settings, service, instance or instance_name(settings))
    except (PartitioningError, WriterFenced) as error:
        logging.getLogger(__name__).error("%s handler stopped: %s", service, error)
        raise typer.Exit(2) from error


@app.command()
def projector(
    name: Annotated[str, typer.Argument(help="A projector of streams.worker.PROJECTORS.")],
) -> None:
    """A Faust projector: events in, Redis views out."""
    # Imported here: faust is slow to import and only this command needs it.
    from streams.worker import PROJECTORS, run_projector

    if name not in PROJECTORS:
        raise typer.BadParameter(f"unknown projector {name!r}; known: {', '.join(PROJECTORS)}")
    run_projector(Settings(), name)


@app.command("lag-exporter")
def lag_exporter() -> None:
    """How far every consumer group of the system is, on /metrics."""
    settings = Settings()
    configure_logging(settings, NAME)
    run_lag_exporter(settings)


def api() -> None:
    """The HTTP API: reads from Redis, commands to Kafka."""
    from api.main import serve  # imported here: only this command needs the web stack

    try:
        serve(Settings())
    except AuthConfigError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
