"""The production profile of the local infrastructure: every principal's password
(ostock.credentials files) and what the broker and Redis are started with."""

from collections.abc import Mapping
from dataclasses import dataclass

from ostock.credentials import password, secrets_dir
from ostock.infra.acls import principals
from ostock.infra.redis_users import aclfile, rules
from ostock.settings import Settings


@dataclass(frozen=True)
class Security:
    """SCRAM users for Kafka (None: PLAINTEXT) and an aclfile for Redis (None: no users)."""

    scram_users: Mapping[str, str] | None
    redis_acl: str | None
    redis_admin: str

    @classmethod
    def from_settings(cls, settings: Settings) -> "Security":
        """What `settings.kafka_security` and `settings.redis_security` ask for."""
        folder = secrets_dir(settings)
        scram_users = None
        if settings.kafka_security == "sasl_scram":
            scram_users = {name: password(folder, f"kafka-{name}") for name in principals(settings)}
        if settings.redis_security == "none":
            return cls(scram_users, None, "")
        users = {name: password(folder, f"redis-{name}") for name in ("admin", *rules(""))}
        return cls(scram_users, aclfile(users, settings.redis_prefix), users["admin"])


PLAINTEXT = Security(None, None, "")
