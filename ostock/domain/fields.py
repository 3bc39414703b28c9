"""Field rules shared by every aggregate: bounds and formats, checked in command methods."""

import re
from urllib.parse import urlsplit

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from ostock.domain.errors import InvalidField

NAME_MAX = 200
TEXT_MAX = 2000
EMAIL_MAX = 254
PHONE_MAX = 40
URL_MAX = 2048
PHONE_PATTERN = re.compile(r"^[0-9 +\-().\/]*$")


def required(field: str, value: str, limit: int = NAME_MAX) -> str:
    """A non-blank string of at most `limit` characters, stripped."""
    value = value.strip()
    if not value:
        raise InvalidField(f"{field} is required and must not be blank")
    return bounded(field, value, limit)


def bounded(field: str, value: str, limit: int) -> str:
    """An optional string of at most `limit` characters, stripped."""
    value = value.strip()
    if len(value) > limit:
        raise InvalidField(f"{field} must be at most {limit} characters, got {len(value)}")
    return value


# A plain ASCII address (dot-atom local part of common characters, LDH labels, an
# alphabetic top-level domain), the usual case, is accepted as email_validator would
# accept it without its Unicode and IDNA machinery, a tenth of deciding a command;
# anything else goes through email_validator.
_PLAIN_EMAIL = re.compile(
    r"(?P<local>[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*)@"
    r"(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?P<tld>[A-Za-z]{2,63}))"
)
_LOCAL_MAX = 64


def email(field: str, value: str) -> str:
    """An empty string or a syntactically valid e-mail address (no DNS lookup), its
    domain lowercased."""
    value = bounded(field, value, EMAIL_MAX)
    if not value:
        return value
    plain = _PLAIN_EMAIL.fullmatch(value)
    if (
        plain
        and len(plain["local"]) <= _LOCAL_MAX
        and plain["tld"].lower() not in SPECIAL_USE_DOMAIN_NAMES
    ):
        return f"{plain['local']}@{plain['domain'].lower()}"
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise InvalidField(f"{field} is not a valid e-mail address: {error}") from None


def phone(field: str, value: str) -> str:
    """An empty string or digits with the usual separators."""
    value = bounded(field, value, PHONE_MAX)
    if not PHONE_PATTERN.match(value):
        raise InvalidField(f"{field} may hold only digits, spaces and + - ( ) . /")
    return value


def website(field: str, value: str | None) -> str | None:
    """None (a blank string too) or an absolute http(s) URL with a host, stripped."""
    if value is None or not value.strip():
        return None
    value = bounded(field, value, URL_MAX)
    if not _web_url(value):
        raise InvalidField(f"{field} must be an http(s) URL such as https://example.com")
    return value


def _web_url(value: str) -> bool:
    if any(character.isspace() for character in value):
        return False
    try:
        parts = urlsplit(value)
        host, _ = parts.hostname, parts.port  # .port raises ValueError unless a valid number
    except ValueError:  # also a malformed IPv6 host
        return False
    return parts.scheme.lower() in ("http", "https") and bool(host)
