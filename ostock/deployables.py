"""Every process the system is deployed as: its `ostock` arguments, its /metrics port,
its consumer group, its instance name and copies and, under the production profile, its
Kafka principal and Redis user (ostock.infra.acls, ostock.infra.redis_users)."""

import socket
from dataclasses import dataclass

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


#: Run once whatever the scale: the API has one port, and the lag exporter joins no group
#: (it watches them all).
SINGLE = frozenset({"api", "lag-exporter"})


@dataclass(frozen=True)
class Instance:
    """Copy `copy` of process `process`, as `ostock run --scale` starts it: copy 1 is the
    process as it runs alone; each further copy has an instance name and /metrics port
    of its own."""

    process: str
    copy: int = 1

    @property
    def label(self) -> str:
        """Its name in `ostock run`'s logs and banner, `ostock status` and Prometheus."""
        return self.process if self.copy == 1 else f"{self.process}-{self.copy}"


def instances(scale: int) -> list[Instance]:
    """Every process of PROCESSES, and `scale` copies of those that share a group, each
    process's copies together."""
    return [
        Instance(name, copy)
        for name in PROCESSES
        for copy in range(1, (1 if name in SINGLE else scale) + 1)
    ]


def instance_name(settings: Settings, copy: int = 1) -> str:
    """This process's name among the copies of its kind: `instance`, else the host's name
    (a pod's on Kubernetes, a container's under compose); copy k > 1 adds -k. It names a
    handler's transactional id and static membership, so two copies never share one."""
    name = settings.instance or socket.gethostname()
    return name if copy == 1 else f"{name}-{copy}"


def instance_env(settings: Settings, instance: Instance) -> dict[str, str]:
    """The environment that makes a further copy differ from the first: its instance name
    and /metrics port."""
    if instance.copy == 1:
        return {}
    port = metrics_port(settings, instance.process, instance.copy)
    return {
        "OSTOCK_INSTANCE": instance_name(settings, instance.copy),
        "OSTOCK_METRICS_PORT": str(port),
    }


def principal_env(name: str) -> dict[str, str]:
    """The environment that logs process `name` in as its principal and Redis user (the
    settings use them under the production profile; the passwords come from
    ostock.credentials)."""
    kafka_principal, redis_user = PRINCIPALS[name]
    env = {"OSTOCK_KAFKA_PRINCIPAL": kafka_principal}
    if redis_user is not None:
        env["OSTOCK_REDIS_USER"] = redis_user
    return env


def metrics_port(settings: Settings, name: str, copy: int = 1) -> int:
    """Where process `name` serves /metrics: the API on its own port, a worker on
    `metrics_port` if set (two instances on one machine), else on its place in PROCESSES,
    each further copy a row of len(PROCESSES) ports higher."""
    if name == "api":
        return settings.api_port
    if settings.metrics_port is not None:
        return settings.metrics_port
    row = (copy - 1) * len(PROCESSES)
    return settings.metrics_port_base + row + list(PROCESSES).index(name)


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
