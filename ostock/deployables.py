"""Every process the system is deployed as: its `ostock` arguments, its /metrics port,
its consumer group and, under the production profile, its Kafka principal and Redis user
(ostock.infra.acls, ostock.infra.redis_users)."""

from ostock.settings import Settings

#: Every deployable, as `ostock` arguments.
PROCESSES: dict[str, list[str]] = {
    "organization-handler": ["worker", "handler", "organization"],
    "licensing-handler": ["worker", "handler", "licensing"],
    "organization-projector": ["worker", "projector", "organization-projector"],
    "command-status-projector": ["worker", "projector", "command-status-projector"],
    "license-projector": ["worker", "projector", "license-projector"],
    "licensing-organizations": ["worker", "projector", "licensing-organizations"],
    "cascade-delete-saga": ["worker", "projector", "cascade-delete-saga"],
    "lag-exporter": ["worker", "lag-exporter"],
    "api": ["api"],
}
#: Each process's Kafka principal and Redis user; the handlers use no Redis.
PRINCIPALS: dict[str, tuple[str, str | None]] = {
    "organization-handler": ("organization-service", None),
    "licensing-handler": ("licensing-service", None),
    "organization-projector": ("projector", "projector"),
    "command-status-projector": ("projector", "projector"),
    "license-projector": ("projector", "projector"),
    "licensing-organizations": ("projector", "projector"),
    "cascade-delete-saga": ("saga", "saga"),
    "lag-exporter": ("lag-exporter", None),
    "api": ("api", "api"),
}


def metrics_port(settings: Settings, name: str) -> int:
    """Where process `name` serves /metrics: the API on its own port, a worker on
    `metrics_port` if set (two instances on one machine), else on its place in PROCESSES."""
    if name == "api":
        return settings.api_port
    if settings.metrics_port is not None:
        return settings.metrics_port
    return settings.metrics_port_base + list(PROCESSES).index(name)


def handler_group(service: str) -> str:
    """The consumer group of a service's command handlers: its committed offsets say
    how far the service has decided its commands."""
    return f"ostock.{service}"


def stream_group(settings: Settings, processor: str) -> str:
    """The consumer group of a stream processor (streams.app.create_app): named after the
    key prefix it builds, so a projector building a fresh prefix starts from offset 0."""
    return f"{settings.redis_prefix}.{processor}"


def consumer_group(settings: Settings, name: str) -> str | None:
    """The consumer group process `name` is a member of; None for one that joins none."""
    match PROCESSES[name]:
        case ["worker", "handler", service]:
            # The service's own name (OrganizationService.name): organization-service.
            return handler_group(f"{service}-service")
        case ["worker", "projector", processor]:
            return stream_group(settings, processor)
        case _:
            return None
