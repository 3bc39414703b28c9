"""The one Settings object: environment variables (OSTOCK_*) or a .env file.

Nothing reads settings at import time; each process's composition root calls
`Settings()` once and passes the object down.
"""

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Topics(BaseModel):
    """Kafka topic names (DESIGN section 4)."""

    organization_commands: str = "ostock.organization.commands"
    organization_events: str = "ostock.organization.events"
    license_commands: str = "ostock.license.commands"
    license_events: str = "ostock.license.events"
    command_results: str = "ostock.command-results"
    dead_letters: str = "ostock.dead-letters"


def _data_home() -> Path:
    return Path.home() / ".local" / "share" / "ostock"


def _cache_home() -> Path:
    return Path.home() / ".cache" / "ostock"


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
    kafka_timeout_s: float = Field(default=5.0, gt=0, description="Bound on every Kafka call.")
    topic_partitions: int = Field(default=6, ge=1)
    topics: Topics = Topics()

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_timeout_s: float = Field(default=2.0, gt=0, description="Bound on every Redis call.")
    redis_max_connections: int = Field(
        default=64, ge=1, description="Connections an API process keeps to Redis at most."
    )
    redis_prefix: str = Field(default="ostock", description="Key prefix of the live read models.")
    command_status_ttl_s: int = Field(
        default=24 * 60 * 60,
        ge=1,
        description="How long a command's status stays readable after it was issued or decided.",
    )

    projector_batch_size: int = Field(
        default=500, ge=1, description="Most records a projector applies in one Redis round trip."
    )
    projector_batch_wait_s: float = Field(
        default=0.01,
        gt=0,
        description="Longest a projector waits to fill a batch: the latency it adds when idle.",
    )

    api_host: str = "127.0.0.1"
    api_port: int = 8080
    api_retry_after_s: int = Field(
        default=5, ge=1, description="Retry-After (seconds) of a 503 while Kafka or Redis is down."
    )
    read_wait_s: float = Field(
        default=5.0,
        gt=0,
        description="Longest a read with ?min_version waits for its view to reach that version "
        "(read-your-writes) before answering 409; a client's ?wait_s may only shorten it.",
    )

    data_dir: Path = Field(default_factory=_data_home, description="Kafka and Redis data, logs.")
    cache_dir: Path = Field(default_factory=_cache_home, description="Resolved Kafka jars.")

    log_level: str = "INFO"
