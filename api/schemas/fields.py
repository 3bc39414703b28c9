"""Field types built from the domain's rules (ostock.domain.fields, ostock.domain.license)."""

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from ostock.domain import fields
from ostock.domain.errors import InvalidField
from ostock.domain.license import LICENSE_TYPE_MAX


def _valid_email(value: str) -> str:
    try:
        return fields.email("contact_email", value)
    except InvalidField as error:
        raise ValueError(error.message) from None


def _valid_website(value: str | None) -> str | None:
    try:
        return fields.website("website", value)
    except InvalidField as error:
        raise ValueError(error.message) from None


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=fields.NAME_MAX)
]
ContactName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=fields.NAME_MAX)]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=fields.EMAIL_MAX),
    AfterValidator(_valid_email),
    Field(description="An e-mail address, or empty."),
]
Phone = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, max_length=fields.PHONE_MAX, pattern=fields.PHONE_PATTERN.pattern
    ),
    Field(description="Digits, spaces and + - ( ) . /, or empty."),
]
Website = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, max_length=fields.URL_MAX)] | None,
    AfterValidator(_valid_website),
    Field(description="An http(s) URL, or null (a blank string is taken as null)."),
]
LicenseType = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=LICENSE_TYPE_MAX),
    Field(description='The kind of license, e.g. "user", "core-seat", "site".'),
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=fields.TEXT_MAX)]
