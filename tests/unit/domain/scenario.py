"""Given / when / then for aggregates: past events in, a command, events or an error out."""

from collections.abc import Callable
from typing import Any

import pytest

from ostock.domain.aggregate import TrackedAggregate
from ostock.domain.errors import DomainError


class Scenario:
    """Builds an aggregate from its past events, runs one command, and checks the outcome."""

    def __init__(self, aggregate: TrackedAggregate) -> None:
        self.aggregate = aggregate
        self.past = list(aggregate.collect_events())

    def when(self, command: Callable[[Any], object]) -> "Outcome":
        replayed: Any = None
        for event in self.past:
            replayed = event.mutate(replayed)
        try:
            command(replayed)
        except DomainError as error:
            return Outcome(replayed, [], error)
        return Outcome(replayed, list(replayed.collect_events()), None)


class Outcome:
    """What a command did: the new events, or the error that refused it."""

    def __init__(self, aggregate: Any, events: list[Any], error: DomainError | None) -> None:
        self.aggregate = aggregate
        self.events = events
        self.error = error

    def then_events(self, *types: type) -> list[Any]:
        assert self.error is None, f"refused: {self.error.code}: {self.error}"
        assert [type(e) for e in self.events] == list(types)
        return self.events

    def then_refused(self, error: type[DomainError], match: str = "") -> None:
        assert self.events == []
        assert isinstance(self.error, error), f"expected {error.__name__}, got {self.error!r}"
        if match:
            assert match in str(self.error)


def given(aggregate: TrackedAggregate) -> Scenario:
    """Start a scenario from a freshly built aggregate's pending events."""
    return Scenario(aggregate)


def refused(call: Callable[[], object], error: type[DomainError]) -> DomainError:
    """Assert a call is refused with `error` and return it."""
    with pytest.raises(error) as caught:
        call()
    return caught.value
