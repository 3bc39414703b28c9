"""The local infrastructure as one unit: Kafka, Redis and, when asked, the optional services
(Keycloak, Prometheus, Jaeger) for a data folder and ports."""

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from ostock.infra.jaeger import JaegerServer
from ostock.infra.kafka import KafkaBroker
from ostock.infra.kafka_cluster import KafkaCluster
from ostock.infra.keycloak import KeycloakServer
from ostock.infra.process import LocalService
from ostock.infra.prometheus import PrometheusServer, scrape_targets
from ostock.infra.redis import RedisServer
from ostock.infra.redis_cluster import RedisCluster
from ostock.infra.security import PLAINTEXT, Security
from ostock.settings import Settings, derived_replication

KEYCLOAK_PORT = 8180  # docker-compose.yml publishes its Keycloak there too
#: The services `up` starts only when named (`ostock infra up --with NAME`).
OPTIONAL = ("keycloak", "monitoring", "tracing")


@dataclass(frozen=True)
class ServiceStatus:
    """Whether one service runs, where it listens and where it logs."""

    name: str
    pid: int | None
    address: str
    log: Path

    def __str__(self) -> str:
        state = f"running (pid {self.pid})" if self.pid is not None else "stopped"
        return f"{self.name:<10} {state:<20} {self.address:<16} log {self.log}"

    @classmethod
    def of(cls, service: LocalService) -> "ServiceStatus":
        """The status of `service`, read from its pid file."""
        return cls(service.name.lower(), service.pid(), service.address, service.log)


@dataclass(frozen=True)
class InfraStatus:
    """The status of every local service; prints as one line per service."""

    services: tuple[ServiceStatus, ...]

    @property
    def running(self) -> bool:
        """Whether every service runs."""
        return all(service.pid is not None for service in self.services)

    def __str__(self) -> str:
        return "\n".join(str(service) for service in self.services)


class LocalInfra:
    """Kafka and Redis as local processes keeping their data, logs and pid files in `data_dir`;
    the OPTIONAL services too when `up` names them (status and down include those that run).

    Prometheus ("monitoring") scrapes `scrape_targets`, each process's /metrics port."""

    def __init__(
        self,
        data_dir: Path,
        cache_dir: Path,
        kafka_port: int,
        controller_port: int,
        redis_port: int,
        security: Security = PLAINTEXT,
        keycloak_port: int = KEYCLOAK_PORT,
        prometheus_port: int = Settings.model_fields["prometheus_port"].default,
        scrape_targets: Mapping[str, int] | None = None,
        jaeger_ports: tuple[int, int] = (4318, 16686),
        brokers: int = 1,
        replication: tuple[int, int] | None = None,
        redis_cluster: int = 0,
    ) -> None:
        """`jaeger_ports`: its OTLP/HTTP port and its query port. `brokers` above 1: a
        KafkaCluster from `kafka_port` on (`controller_port` unused), its topics'
        `replication` factor and min.insync.replicas derived from its size unless given.
        `redis_cluster`: 0 for one Redis on `redis_port`, N for a cluster of N masters from
        `redis_port` on (their buses 10000 above, as Redis's default)."""
        self.data_dir = data_dir
        self.kafka: KafkaBroker | KafkaCluster = (
            KafkaBroker.single(
                data_dir, cache_dir, kafka_port, controller_port, security.scram_users
            )
            if brokers == 1
            else KafkaCluster(
                data_dir,
                cache_dir,
                kafka_port,
                brokers,
                replication or derived_replication(brokers),
                security.scram_users,
            )
        )
        acl, admin = security.redis_acl, security.redis_admin
        ports = range(redis_port, redis_port + redis_cluster)
        self.redis: RedisServer | RedisCluster = (
            RedisCluster(data_dir, ports, [port + 10000 for port in ports], acl, admin)
            if redis_cluster
            else RedisServer(data_dir, redis_port, acl, admin)
        )
        self.keycloak = KeycloakServer(data_dir, cache_dir, keycloak_port)
        self.jaeger = JaegerServer(data_dir, cache_dir, *jaeger_ports)
        self.prometheus = PrometheusServer(data_dir, prometheus_port, scrape_targets or {})
        self.optional: dict[str, LocalService] = {
            "keycloak": self.keycloak,
            "monitoring": self.prometheus,
            "tracing": self.jaeger,
        }

    @classmethod
    def from_settings(cls, settings: Settings) -> "LocalInfra":
        """The infrastructure `settings` points at (ports from the Kafka and Redis addresses,
        Keycloak's from auth_issuer when that is an http URL with a port)."""
        first_server = settings.kafka_bootstrap.split(",")[0]
        return cls(
            data_dir=settings.data_dir,
            cache_dir=settings.cache_dir,
            kafka_port=int(first_server.rsplit(":", 1)[1]),
            controller_port=settings.kafka_controller_port,
            redis_port=urlsplit(settings.redis_url).port or 6379,
            security=Security.from_settings(settings),
            keycloak_port=urlsplit(settings.auth_issuer).port or KEYCLOAK_PORT,
            prometheus_port=settings.prometheus_port,
            scrape_targets=scrape_targets(settings),
            jaeger_ports=(settings.jaeger_otlp_port, settings.jaeger_query_port),
            brokers=settings.kafka_brokers,
            replication=(settings.replication_factor, settings.min_insync_replicas),
            redis_cluster=settings.redis_cluster,
        )

    def clients(self, settings: Settings) -> Settings:
        """`settings` with the Kafka clients pointed at every node this runs."""
        return settings.model_copy(update={"kafka_bootstrap": self.kafka.bootstrap})

    def up(self, optional: Collection[str] = ()) -> None:
        """Start Redis and Kafka, and the OPTIONAL services named, reusing any that already
        runs; return once all are ready."""
        self.redis.start()
        self.kafka.start()
        for name in optional:
            self.optional[name].start()

    def down(self) -> None:
        """Stop every service; the optional ones only if they run."""
        for service in self.optional.values():
            if service.pid() is not None:
                service.stop()
        self.kafka.stop()
        self.redis.stop()

    def status(self) -> InfraStatus:
        """Which services run, read from their pid files (works from any process)."""
        kafka = self.kafka.nodes
        redis = self.redis.nodes if isinstance(self.redis, RedisCluster) else [self.redis]
        services = _numbered("kafka", kafka, [node.node_id for node in kafka])
        services += _numbered("redis", redis, range(len(redis)))  # as their folders
        optional = [ServiceStatus.of(service) for service in self.optional.values()]
        services += [service for service in optional if service.pid is not None]
        return InfraStatus(tuple(services))


def _numbered(
    kind: str, nodes: Sequence[LocalService], numbers: Iterable[int]
) -> list[ServiceStatus]:
    """The status of each node of `kind`, named `kind`-N when there are several."""
    statuses = [ServiceStatus.of(node) for node in nodes]
    if len(statuses) == 1:
        return statuses
    return [replace(s, name=f"{kind}-{n}") for s, n in zip(statuses, numbers, strict=True)]
