"""The e-mail check's fast path for plain ASCII addresses answers as email_validator does."""

import pytest
from email_validator import EmailNotValidError, validate_email

from ostock.domain import fields
from ostock.domain.errors import InvalidField

ADDRESSES = [
    "ada@acme.example",
    "Ada.Lovelace@Acme.EXAMPLE",
    "a+tag@sub.domain.io",
    "first_last%x@x-y.co",
    "a..b@x.io",
    ".a@x.io",
    "a.@x.io",
    "a@x",
    "a@-x.com",
    "a@x-.com",
    "a@x.test",
    "a@sub.localhost",
    "a@x.local",
    "a@x.c0m",
    "a@1.2.3.4",
    "a@x..io",
    "a" * 65 + "@x.io",
    "a" * 64 + "@x.io",
    "a b@x.io",
    "a@b@x.io",
    "o'hara@x.io",
    "jörg@x.io",
    "a@bücher.example",
]


def slow(address: str) -> str | None:
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def fast(address: str) -> str | None:
    try:
        return fields.email("contact_email", address)
    except InvalidField:
        return None


@pytest.mark.parametrize("address", ADDRESSES)
def test_the_same_answer_as_email_validator(address: str) -> None:
    assert fast(address) == slow(address)


def test_the_fast_path_is_taken_for_plain_addresses() -> None:
    assert fields._PLAIN_EMAIL.fullmatch("Ada.Lovelace@Acme.EXAMPLE")
    assert not fields._PLAIN_EMAIL.fullmatch("jörg@x.io")
