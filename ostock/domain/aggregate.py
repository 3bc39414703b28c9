"""What every O-stock aggregate shares: who issued each change, idempotent commands,
optimistic concurrency and the rule that nothing changes a deleted aggregate."""

from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import Aggregate

from ostock.domain.errors import AlreadyDeleted, VersionConflict


@dataclass(frozen=True)
class Issued:
    """The command behind a change: carried into every event it causes."""

    command_id: str
    correlation_id: str
    issued_by: str


class TrackedAggregate(Aggregate):
    """An aggregate that remembers the commands it applied, so a repeat changes nothing."""

    class Event(Aggregate.Event):
        command_id: str
        correlation_id: str
        issued_by: str

        def apply(self, aggregate: Any) -> None:
            aggregate.decided[self.command_id] = self.originator_version

    class Created(Event, Aggregate.Created):
        pass

    decided: dict[str, int]
    deleted: bool

    def outcome_of(self, command_id: str) -> int | None:
        """The version a command already produced, or None if it never ran here."""
        return self.decided.get(command_id)

    def version_after(self, command_id: str) -> int:
        """The version a command that this aggregate has applied produced."""
        return self.decided[command_id]

    def check_changeable(self, expected_version: int | None) -> None:
        """Refuse changes to a deleted aggregate or one at an unexpected version."""
        if self.deleted:
            raise AlreadyDeleted(f"{type(self).__name__.lower()} {self.id} is deleted")
        if expected_version is not None and expected_version != self.version:
            raise VersionConflict(
                f"expected version {expected_version}, but it is at version {self.version}"
            )

    def _remember_creation(self, command_id: str) -> None:
        self.decided = {command_id: self.INITIAL_VERSION}
        self.deleted = False
