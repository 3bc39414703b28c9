"""`ostock infra`: the local Kafka, Redis and (when asked) Keycloak, Prometheus and Jaeger as real
processes (no Docker needed)."""

from pathlib import Path
from typing import Annotated, Any

import typer

from ostock.infra.acls import ensure_acls
from ostock.infra.fetch import fetch as fetch_all
from ostock.infra.local import OPTIONAL, LocalInfra
from ostock.infra.topics import ensure_topics
from ostock.settings import Settings

app = typer.Typer(
    help="Local Kafka (KRaft), Redis and optionally Keycloak, Prometheus, Jaeger: "
    "fetch, up, status, down.",
    no_args_is_help=True,
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
Brokers = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Kafka nodes: above 1 a cluster, node i on the Kafka port plus 2i and 2i+1. "
        "Default: settings.kafka_brokers.",
    ),
]
Scale = Annotated[
    int | None,
    typer.Option(
        min=1,
        metavar="N",
        help="Copies of every handler, projector and the saga. Default: settings.scale.",
    ),
]
RedisPort = Annotated[
    int | None, typer.Option(help="Redis port. Default: from settings.redis_url.")
]
RedisClusterSize = Annotated[
    int | None,
    typer.Option(
        "--redis-cluster",
        help="A Redis Cluster of N masters (ports from --redis-port on) instead of one Redis. "
        "Default: settings.redis_cluster.",
    ),
]
With = Annotated[
    list[str] | None,
    typer.Option(
        "--with",
        help=f"An optional service to include (repeatable): {', '.join(OPTIONAL)}.",
        show_default=False,
    ),
]


def chosen(services: list[str] | None) -> list[str]:
    """The optional services --with names; exits on a service it does not know."""
    unknown = set(services or ()) - set(OPTIONAL)
    if unknown:
        typer.echo(f"error: unknown service {sorted(unknown)}; choose from {OPTIONAL}", err=True)
        raise typer.Exit(2)
    return list(dict.fromkeys(services or ()))


def with_options(settings: Settings, **options: Any) -> Settings:
    """`settings` with each command-line option given (not None) as its field."""
    return settings.model_copy(update={k: v for k, v in options.items() if v is not None})


def _settings(
    data_dir: Path | None,
    kafka_port: int | None,
    controller_port: int | None,
    redis_port: int | None,
    brokers: int | None,
    redis_cluster: int | None,
) -> Settings:
    """Settings from the environment, with the command-line options applied."""
    return with_options(
        Settings(),
        kafka_brokers=brokers,
        redis_cluster=redis_cluster,
        data_dir=data_dir.resolve() if data_dir is not None else None,
        kafka_bootstrap=f"127.0.0.1:{kafka_port}" if kafka_port is not None else None,
        kafka_controller_port=controller_port,
        redis_url=f"redis://127.0.0.1:{redis_port}/0" if redis_port is not None else None,
    )


@app.command()
def fetch(services: With = None) -> None:
    """Install redis-server and resolve the Kafka jars (and Keycloak with --with keycloak,
    Prometheus with --with monitoring, Jaeger with --with tracing) now, so that `up` works
    offline."""
    fetch_all(Settings(), chosen(services))


@app.command()
def up(
    data_dir: DataDir = None,
    kafka_port: KafkaPort = None,
    controller_port: ControllerPort = None,
    redis_port: RedisPort = None,
    redis_cluster: RedisClusterSize = None,
    services: With = None,
    brokers: Brokers = None,
) -> None:
    """Start Kafka and Redis (and Keycloak with --with keycloak, its port from
    settings.auth_issuer, else 8180; Prometheus with --with monitoring, on
    settings.prometheus_port, scraping every process; Jaeger with --with tracing, on
    settings.jaeger_otlp_port and jaeger_query_port), reusing running ones, and create the
    topics."""
    optional = chosen(services)
    settings = _settings(data_dir, kafka_port, controller_port, redis_port, brokers, redis_cluster)
    infra = LocalInfra.from_settings(settings)
    settings = infra.clients(settings)
    try:
        infra.up(optional)
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
    brokers: Brokers = None,
    redis_cluster: RedisClusterSize = None,
) -> None:
    """Stop Kafka, Redis and the optional services that run; their data stays in the data
    folder."""
    settings = _settings(data_dir, kafka_port, controller_port, redis_port, brokers, redis_cluster)
    LocalInfra.from_settings(settings).down()


@app.command()
def status(
    data_dir: DataDir = None,
    kafka_port: KafkaPort = None,
    controller_port: ControllerPort = None,
    redis_port: RedisPort = None,
    brokers: Brokers = None,
    redis_cluster: RedisClusterSize = None,
) -> None:
    """Show whether each Kafka node and Redis (and the optional services that run) run;
    exit 1 if one does not."""
    settings = _settings(data_dir, kafka_port, controller_port, redis_port, brokers, redis_cluster)
    infra = LocalInfra.from_settings(settings)
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
