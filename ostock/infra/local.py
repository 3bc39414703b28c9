"""The local infrastructure as one unit: Kafka, Redis and, when asked, Keycloak and Jaeger for
a data folder and ports."""

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ostock.infra.jaeger import JaegerServer
from ostock.infra.kafka import KafkaBroker
from ostock.infra.keycloak import KeycloakServer
from ostock.infra.process import LocalService
from ostock.infra.redis import RedisServer
from ostock.infra.security import PLAINTEXT, Security
from ostock.settings import Settings

KEYCLOAK_PORT = 8180  # docker-compose.yml publishes its Keycloak there too


@dataclass(frozen=True)
class ServiceStatus:
    """Whether one service runs, where it listens and where it logs."""

    name: str
    pid: int | None
    address: str
    log: Path

    def __str__(self) -> str:
        state = f"running (pid {self.pid})" if self.pid is not None else "stopped"
        return f"{self.name:<8} {state:<20} {self.address:<16} log {self.log}"

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
    Keycloak and Jaeger too when started with `keycloak=True`, `tracing=True` (status and
    down include each while it runs)."""

    def __init__(
        self,
        data_dir: Path,
        cache_dir: Path,
        kafka_port: int,
        controller_port: int,
        redis_port: int,
        security: Security = PLAINTEXT,
        keycloak_port: int = KEYCLOAK_PORT,
        jaeger_ports: tuple[int, int] = (4318, 16686),
    ) -> None:
        """`jaeger_ports`: its OTLP/HTTP port and its query port."""
        self.data_dir = data_dir
        self.kafka = KafkaBroker(
            data_dir, cache_dir, kafka_port, controller_port, security.scram_users
        )
        self.redis = RedisServer(data_dir, redis_port, security.redis_acl, security.redis_admin)
        self.keycloak = KeycloakServer(data_dir, cache_dir, keycloak_port)
        self.jaeger = JaegerServer(data_dir, cache_dir, *jaeger_ports)

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
            jaeger_ports=(settings.jaeger_otlp_port, settings.jaeger_query_port),
        )

    def up(self, keycloak: bool = False, tracing: bool = False) -> None:
        """Start Redis and Kafka (and Keycloak, Jaeger if asked), reusing any that already
        runs; return once all are ready."""
        self.redis.start()
        self.kafka.start()
        if keycloak:
            self.keycloak.start()
        if tracing:
            self.jaeger.start()

    def down(self) -> None:
        """Stop every service; Keycloak and Jaeger only if they run."""
        for optional in (self.keycloak, self.jaeger):
            if optional.pid() is not None:
                optional.stop()
        self.kafka.stop()
        self.redis.stop()

    def status(self) -> InfraStatus:
        """Which services run, read from their pid files (works from any process)."""
        services = [ServiceStatus.of(self.kafka), ServiceStatus.of(self.redis)]
        for optional in (ServiceStatus.of(self.keycloak), ServiceStatus.of(self.jaeger)):
            if optional.pid is not None:  # listed only while it runs
                services.append(optional)
        return InfraStatus(tuple(services))
