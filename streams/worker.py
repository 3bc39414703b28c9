"""A projector's process: its composition root, run with `python -m streams PROJECTOR`."""

import gc
from collections.abc import Callable

import faust

from ostock.deployables import metrics_port
from ostock.logs import configure_logging
from ostock.settings import Settings
from ostock.telemetry.metrics import serve_metrics
from ostock.telemetry.tracing import install_tracing
from streams import commands, licensing, organization, saga
from streams.app import BatchApp, create_app

#: Each projector is its own consumer group, deployed and scaled on its own.
PROJECTORS: dict[str, Callable[[BatchApp, Settings], None]] = {
    "organization-projector": organization.install,
    "command-status-projector": commands.install,
    "license-projector": licensing.install_licenses,
    "licensing-organizations": licensing.install_organizations,
    "cascade-delete-saga": saga.install,
}


def run_projector(settings: Settings, projector: str) -> None:
    """Run `projector` in this process until SIGINT or SIGTERM (then exit)."""
    configure_logging(settings, projector)
    serve_metrics(settings.metrics_host, metrics_port(settings, projector))
    app = create_app(settings, projector, install_tracing(settings, projector))
    app.conf.datadir.mkdir(parents=True, exist_ok=True)  # faust creates only the last level
    PROJECTORS[projector](app, settings)
    # Logging as every process has it, not as Faust's worker would set it up; and no
    # terminal spinner, whose escape codes would land in the log (and whose handler,
    # under a WARNING level, would set the root logger to DEBUG).
    worker = faust.Worker(app, quiet=True, override_logging=False)
    worker.spinner = None
    gc.freeze()  # what exists now lives as long as the process: no need to scan it again
    worker.execute_from_commandline()
