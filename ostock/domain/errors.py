"""Why a command is rejected: each error has a stable code that clients can act on."""


class DomainError(Exception):
    """A command the domain refuses; `code` is stable, the message is for people."""

    code = "rejected"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidField(DomainError):
    code = "invalid-field"


class VersionConflict(DomainError):
    code = "version-conflict"


class AlreadyExists(DomainError):
    code = "already-exists"


class NotFound(DomainError):
    code = "not-found"


class AlreadyDeleted(DomainError):
    code = "deleted"


class UnknownOrganization(DomainError):
    code = "organization-not-found"


class OrganizationGone(DomainError):
    code = "organization-deleted"
