"""Every process the system is deployed as: its `ostock` arguments and, under the
production profile, its Kafka principal and Redis user (ostock.infra.acls,
ostock.infra.redis_users)."""

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
