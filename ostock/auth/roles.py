"""Roles where Keycloak puts them, and the book's rules: reads need user, writes admin."""

from collections.abc import Mapping
from typing import Any, Literal

Access = Literal["read", "write"]

# The book's realm: client roles USER and ADMIN behind realm roles ostock-user and ostock-admin.
ADMIN_ROLES = frozenset({"ADMIN", "ostock-admin"})
USER_ROLES = frozenset({"USER", "ostock-user"}) | ADMIN_ROLES  # an admin may read too


def roles_of(claims: Mapping[str, Any], client: str) -> frozenset[str]:
    """realm_access.roles and resource_access.<client>.roles, ignoring malformed parts."""
    realm = _roles(claims.get("realm_access"))
    resource_access = claims.get("resource_access")
    resources = resource_access if isinstance(resource_access, Mapping) else {}
    return realm | _roles(resources.get(client))


def allows(roles: frozenset[str], access: Access) -> bool:
    """Whether these roles grant this access."""
    return bool(roles & (USER_ROLES if access == "read" else ADMIN_ROLES))


def _roles(section: object) -> frozenset[str]:
    if not isinstance(section, Mapping):
        return frozenset()
    roles = section.get("roles")
    if not isinstance(roles, list):
        return frozenset()
    return frozenset(role for role in roles if isinstance(role, str))
