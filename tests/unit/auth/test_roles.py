"""The book's role rules: user reads, admin writes and reads; realm or client roles alike."""

import pytest

from ostock.auth.roles import allows, roles_of


def test_roles_come_from_the_realm_and_from_our_client_only() -> None:
    claims = {
        "realm_access": {"roles": ["ostock-user", "offline_access"]},
        "resource_access": {"ostock": {"roles": ["ADMIN"]}, "other": {"roles": ["ROOT"]}},
    }

    assert roles_of(claims, "ostock") == {"ostock-user", "offline_access", "ADMIN"}


def test_malformed_role_claims_grant_nothing() -> None:
    claims = {"realm_access": ["ostock-admin"], "resource_access": {"ostock": {"roles": "ADMIN"}}}

    assert roles_of(claims, "ostock") == frozenset()


@pytest.mark.parametrize(
    ("roles", "read", "write"),
    [
        ({"USER"}, True, False),
        ({"ostock-user"}, True, False),
        ({"ADMIN"}, True, True),
        ({"ostock-admin"}, True, True),
        ({"offline_access"}, False, False),
        (set(), False, False),
    ],
)
def test_reads_need_user_and_writes_need_admin(roles: set[str], read: bool, write: bool) -> None:
    assert allows(frozenset(roles), "read") is read
    assert allows(frozenset(roles), "write") is write
