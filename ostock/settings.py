"""The one Settings object: environment variables (OSTOCK_*) or a .env file.

Nothing reads settings at import time; each process's composition root calls
`Settings()` once and passes the object down.
"""

import json
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Topics(BaseModel):
    """Kafka topic names (docs/architecture.md, "Topics")."""

    organization_commands: str = "ostock.organization.commands"
    organization_events: str = "ostock.organization.events"
    license_commands: str = "ostock.license.commands"
    license_events: str = "ostock.license.events"
    command_results: str = "ostock.command-results"
    dead_letters: str = "ostock.dead-letters"
    schemas: str = "ostock.schemas"


def _data_home() -> Path:
    return Path.home() / ".local" / "share" / "ostock"


def _cache_home() -> Path:
    return Path.home() / ".cache" / "ostock"


def _config_home() -> Path:
    return Path.home() / ".config" / "ostock"


class Settings(BaseSettings):
    """Every tunable of O-stock, with defaults that work on a developer machine."""

    model_config = SettingsConfigDict(
        env_prefix="OSTOCK_", env_file=".env", env_nested_delimiter="__", extra="ignore"
    )

    profile: Literal["development", "production"] = "development"

    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_controller_port: int = Field(
        default=9093, description="KRaft controller port of the local broker (`ostock infra`)."
    )
    kafka_brokers: int = Field(
        default=1,
        ge=1,
        description="How many local brokers `ostock infra` starts: node i listens on the "
        "first kafka_bootstrap port plus 2i (clients) and 2i+1 (its controller); 1: one node "
        "whose controller listens on kafka_controller_port.",
    )
    kafka_replication_factor: int | None = Field(
        default=None,
        ge=1,
        description="Replicas of every topic, internal ones too; unset: min(kafka_brokers, 3).",
    )
    kafka_min_insync_replicas: int | None = Field(
        default=None,
        ge=1,
        description="Replicas that must have a write (acks=all) before it counts; unset: one "
        "fewer than the replication factor, at least 1.",
    )
    kafka_timeout_s: float = Field(default=5.0, gt=0, description="Bound on every Kafka call.")
    kafka_statistics_s: float = Field(
        default=10.0,
        ge=0,
        description="How often librdkafka reports its statistics (broker round trips, "
        "producer queue) as metrics; 0: never.",
    )
    topic_partitions: int = Field(default=6, ge=1)
    topics: Topics = Topics()
    kafka_security: Literal["plaintext", "sasl_scram"] = Field(
        default="plaintext",
        description="sasl_scram: SCRAM-SHA-512 logins and ACLs (the production profile).",
    )
    kafka_principal: str = Field(
        default="admin", description="This process's SCRAM user (ostock.infra.acls names them)."
    )
    kafka_password: SecretStr | None = Field(
        default=None, description="Its password; default: a 0600 file under data_dir/secrets."
    )

    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        description="A Redis, or any node of a Redis Cluster: clients ask it which "
        "(ostock.views.client).",
    )
    redis_cluster: int = Field(
        default=0,
        ge=0,
        description="0: `ostock infra` starts one Redis; N: a Redis Cluster of N masters on "
        "redis_url's port and the next ones.",
    )
    redis_security: Literal["none", "acl"] = Field(
        default="none", description="acl: Redis ACL users, the default user disabled."
    )
    redis_user: str = Field(default="admin", description="This process's Redis ACL user.")
    redis_password: SecretStr | None = Field(
        default=None, description="Its password; default: a 0600 file under data_dir/secrets."
    )
    redis_timeout_s: float = Field(default=2.0, gt=0, description="Bound on every Redis call.")
    redis_max_connections: int = Field(
        default=64, ge=1, description="Connections an API process keeps to Redis at most."
    )
    redis_prefix: str = Field(default="ostock", description="Key prefix of every O-stock key.")
    generations_refresh_s: float = Field(
        default=0.5,
        gt=0,
        description="How often an API process reads again which generation of each read "
        "model is live (a replay switches them).",
    )
    replay_grace_s: float = Field(
        default=2.0,
        gt=0,
        description="How long a replay keeps writing the generation it replaced, so readers "
        "move over before it goes: more than generations_refresh_s.",
    )
    replay_batch_size: int = Field(
        default=2000, ge=1, description="Most events a replay applies in one Redis round trip."
    )
    command_status_ttl_s: int = Field(
        default=24 * 60 * 60,
        ge=1,
        description="How long a command's status stays readable after it was issued or decided.",
    )

    projector_batch_size: int = Field(
        default=500,
        ge=1,
        description="Most records a stream processor takes from one fetch and applies in "
        "one Redis round trip; it takes what has arrived, never waiting to fill a batch.",
    )

    api_host: str = "127.0.0.1"
    api_port: int = 8080
    metrics_public: bool = Field(
        default=True, description="/metrics answers without a token (else it needs a user token)."
    )
    api_retry_after_s: int = Field(
        default=5, ge=1, description="Retry-After (seconds) of a 503 while Kafka or Redis is down."
    )
    circuit_failures: int = Field(
        default=2,
        ge=1,
        description="Failures in a row (timeouts, refused connections) of Kafka or Redis "
        "after which the API refuses calls to it with 503 at once, without trying.",
    )
    circuit_open_s: float = Field(
        default=5.0,
        gt=0,
        description="How long such an open circuit refuses calls before a check of its "
        "dependency; it closes when the check is answered, else stays open as long again.",
    )
    read_wait_s: float = Field(
        default=5.0,
        gt=0,
        description="Longest a read with ?min_version waits for its view to reach that version "
        "(read-your-writes) before answering 409; a client's ?wait_s may only shorten it.",
    )

    auth_dev_issuer: bool = Field(
        default=True,
        description="Trust the local development issuer (`ostock token`, keys under "
        "config_dir/dev-issuer) instead of auth_jwks_url; refused with profile=production.",
    )
    auth_issuer: str = Field(
        default="urn:ostock:dev-issuer", description="Expected `iss` of bearer tokens."
    )
    auth_audience: str = Field(default="ostock", description="Expected `aud` of bearer tokens.")
    auth_client: str = Field(
        default="ostock", description="Client whose resource_access roles count (USER, ADMIN)."
    )
    auth_jwks_url: str | None = Field(
        default=None,
        description="The issuer's JWKS (e.g. Keycloak's .../protocol/openid-connect/certs).",
    )
    auth_jwks_timeout_s: float = Field(default=3.0, gt=0, description="Bound on a JWKS fetch.")
    auth_jwks_refresh_s: float = Field(
        default=30.0, ge=0, description="Least time between two JWKS fetches on unknown key ids."
    )
    auth_leeway_s: float = Field(
        default=30.0, ge=0, description="Clock skew tolerated on exp and nbf."
    )

    instance: str | None = Field(
        default=None,
        description="This worker's name among the copies of its kind (its transactional id, "
        "its group member name); unset: the host's name. Two copies on one host need two.",
    )
    scale: int = Field(
        default=1,
        ge=1,
        description="Copies of every handler, projector and the saga that `ostock run` "
        "starts, and `ostock status` and Prometheus look for.",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="This worker's /metrics port; unset: metrics_port_base plus its place in "
        "ostock.deployables.PROCESSES (the API serves /metrics on api_port).",
    )
    metrics_port_base: int = Field(
        default=9400, ge=1, le=65000, description="First of the workers' /metrics ports."
    )
    lag_interval_s: float = Field(
        default=5.0,
        gt=0,
        description="How often the lag exporter asks Kafka how far each consumer group is.",
    )
    metrics_host: str = Field(
        default="127.0.0.1", description="Address the workers serve /metrics on."
    )
    tracing_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP endpoint traces go to (Jaeger's, e.g. http://127.0.0.1:4318); "
        "unset: no tracing, at no cost.",
    )
    trace_sampling_ratio: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="Share of new traces recorded (parent-based: a trace begun is followed).",
    )
    jaeger_otlp_port: int = Field(default=4318, description="OTLP/HTTP port of the local Jaeger.")
    jaeger_query_port: int = Field(default=16686, description="UI and query API of the Jaeger.")
    prometheus_port: int = Field(default=9090, description="Port of the local Prometheus.")

    data_dir: Path = Field(default_factory=_data_home, description="Kafka and Redis data, logs.")
    cache_dir: Path = Field(default_factory=_cache_home, description="Kafka jars, Keycloak.")
    config_dir: Path = Field(
        default_factory=_config_home,
        description="Local configuration: the development issuer's keys.",
    )

    log_level: str = "INFO"

    @property
    def replication_factor(self) -> int:
        """The replicas of every topic: as set, else derived_replication's."""
        return self.kafka_replication_factor or derived_replication(self.kafka_brokers)[0]

    @property
    def min_insync_replicas(self) -> int:
        """The replicas a write needs: as set, else all but one (a loss is survived)."""
        return self.kafka_min_insync_replicas or _all_but_one(self.replication_factor)


def derived_replication(brokers: int) -> tuple[int, int]:
    """The replication factor and min.insync.replicas `brokers` brokers allow: as many
    replicas as brokers up to 3, and all but one of them for a write."""
    factor = min(brokers, 3)
    return factor, _all_but_one(factor)


def _all_but_one(replicas: int) -> int:
    return max(replicas - 1, 1)


def settings_json(settings: Settings) -> str:
    """The settings as JSON, secrets included, for a component handed its configuration
    as text (the event store's persistence module); `Settings.model_validate_json` reads
    it back as it was, without looking at the environment again."""
    values = settings.model_dump(mode="json")
    for name, value in settings:
        if isinstance(value, SecretStr):
            values[name] = value.get_secret_value()
    return json.dumps(values)


def settings_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment that makes a child process (a test's or a benchmark's) build these
    same settings, plus `extra`. Secrets stay out: a child reads them where this process
    did (its environment, or the files of ostock.credentials)."""
    env = dict(os.environ)
    values = settings.model_dump(mode="json", exclude_none=True)
    for name, value in settings:
        if isinstance(value, SecretStr) or name not in values:
            continue
        key = f"OSTOCK_{name.upper()}"
        if isinstance(value, BaseModel):
            env |= {f"{key}__{field.upper()}": str(v) for field, v in values[name].items()}
        else:
            dumped = values[name]
            env[key] = dumped if isinstance(dumped, str) else json.dumps(dumped)
    return env | extra
