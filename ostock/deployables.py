"""Every process the system is deployed as: its `ostock` arguments, its /metrics port
and, under the production profile, its Kafka principal and Redis user
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
