"""The `ostock` command: one root app, one sub-app per area."""

import typer

from ostock.cli import events, infra, publish, run, token, worker

app = typer.Typer(
    help="O-stock: organizations and their licenses, event-sourced on Kafka and Redis.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(infra.app, name="infra")
app.add_typer(publish.app, name="publish")
app.add_typer(worker.app, name="worker")
app.command()(events.events)
app.command()(run.run)
app.command()(worker.api)
app.command()(token.token)
