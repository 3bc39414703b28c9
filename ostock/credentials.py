"""Secrets of the secured profile: from settings, or files (0600) generated on first use.

Each principal's password lives in ``<data_dir>/secrets/<name>.password``, readable by
its owner only; nothing prints or logs it.
"""

import os
import secrets
from pathlib import Path

from ostock.settings import Settings


def secrets_dir(settings: Settings) -> Path:
    """The folder (0700) holding the generated passwords."""
    return settings.data_dir / "secrets"


def password(directory: Path, name: str) -> str:
    """The password of `name` in `directory`, generated with mode 0600 on first use."""
    path = directory / f"{name}.password"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = secrets.token_urlsafe(24)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process generated it meanwhile
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as out:
        out.write(value)
    return value


def kafka_password(settings: Settings) -> str:
    """The SCRAM password of this process's Kafka principal."""
    if settings.kafka_password is not None:
        return settings.kafka_password.get_secret_value()
    return password(secrets_dir(settings), f"kafka-{settings.kafka_principal}")


def redis_password(settings: Settings, user: str) -> str:
    """The password of Redis ACL user `user`."""
    if settings.redis_password is not None and user == settings.redis_user:
        return settings.redis_password.get_secret_value()
    return password(secrets_dir(settings), f"redis-{user}")


def redis_login(settings: Settings) -> tuple[str | None, str | None]:
    """(username, password) of this process's Redis user; (None, None) without ACLs."""
    if settings.redis_security == "none":
        return None, None
    return settings.redis_user, redis_password(settings, settings.redis_user)
