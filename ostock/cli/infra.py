"""`ostock infra`: the local Kafka and Redis as real processes (no Docker needed)."""

from pathlib import Path
from typing import Annotated, Any

import typer

from ostock.infra.acls import ensure_acls
from ostock.infra.fetch import fetch as fetch_all
from ostock.infra.local import LocalInfra
from ostock.infra.topics import ensure_topics
from ostock.settings import Settings

app = typer.Typer(
    help="Local Kafka (KRaft) and Redis: fetch, up, status, down.", no_args_is_help=True
)

DataDir = Annotated[
    Path | None, typer.Option(help="Data, logs and pid files. Default: settings.data_dir.")
]
KafkaPort = Annotated[
    int | None, typer.Option(help="Kafka client port. Default: from settings.kafka_bootstrap.")
]
ControllerPort = Annotated[
    int | None,
    typer.Option(help="KRaft controller port. Default: settings.kafka_controller_port."),
]
RedisPort = Annotated[
    int | None, typer.Option(help="Redis port. Default: from settings.redis_url.")
]


def _settings(
    data_dir: Path | None,
    kafka_port: int | None,
    controller_port: int | None,
    redis_port: int | None,
) -> Settings:
    """Settings from the environment, with the command-line options applied."""
    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir.resolve()
    if kafka_port is not None:
        overrides["kafka_bootstrap"] = f"127.0.0.1:{kafka_port}"
    if controller_port is not None:
        overrides["kafka_controller_port"] = controller_port
    if redis_port is not None:
        overrides["redis_url"] = f"redis://127.0.0.1:{redis_port}/0"
    return Settings().model_copy(update=overrides)


@app.command()
def fetch() -> None:
    """Install redis-server and resolve the Kafka jars now, so that `up` works offline."""
    fetch_all(Settings())


@app.command()
def up(
    data_dir: DataDir = None,
    kafka_port: KafkaPort = None,
    controller_port: ControllerPort = None,
    redis_port: RedisPort = None,
) -> None:
    """Start Kafka and Redis (or reuse running ones) and create the topics."""
    settings = _settings(data_dir, kafka_port, controller_port, redis_port)
    infra = LocalInfra.from_settings(settings)
    try:
        infra.up()
        created = ensure_topics(settings)
        acls = ensure_acls(settings)
    except (RuntimeError, TimeoutError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    typer.echo(f"topics: {len(settings.topics.model_dump())} present, {len(created)} created now")
    if acls:
        typer.echo(f"ACLs: {acls} bindings")
    typer.echo(str(infra.status()))


@app.command()
def down(
    data_dir: DataDir = None,
    kafka_port: KafkaPort = None,
    controller_port: ControllerPort = None,
    redis_port: RedisPort = None,
) -> None:
    """Stop Kafka and Redis; their data stays in the data folder."""
    LocalInfra.from_settings(_settings(data_dir, kafka_port, controller_port, redis_port)).down()


@app.command()
def status(
    data_dir: DataDir = None,
    kafka_port: KafkaPort = None,
    controller_port: ControllerPort = None,
    redis_port: RedisPort = None,
) -> None:
    """Show whether Kafka and Redis run; exit code 1 if either does not."""
    infra = LocalInfra.from_settings(_settings(data_dir, kafka_port, controller_port, redis_port))
    report = infra.status()
    typer.echo(str(report))
    if not report.running:
        raise typer.Exit(1)


@app.command()
def topics() -> None:
    """Create the topics on the broker that settings name (any broker: compose, a cluster)."""
    settings = Settings()
    created = ensure_topics(settings)
    typer.echo(f"topics: {len(settings.topics.model_dump())} present, {len(created)} created now")
