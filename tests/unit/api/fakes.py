"""In-memory stand-ins for the API's Kafka and Redis edges, honest about what they record."""

import asyncio
from dataclasses import dataclass, field
from typing import TypeVar

from api.publisher import KafkaUnavailable
from ostock.contract import Codec, Record
from ostock.kafka.delivery import Outgoing
from ostock.views.reader import Page, ViewName

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class Published:
    topic: str
    organization_id: str
    value: bytes
    correlation_id: str
    traceparent: str

    def decoded(self) -> Record:
        return Codec().decode(self.value)


@dataclass
class FakePublisher:
    """Records what would go to Kafka; `down` makes it fail like an unreachable broker."""

    sent: list[Published] = field(default_factory=list)
    down: bool = False

    async def publish(self, command: Outgoing) -> None:
        if self.down:
            raise KafkaUnavailable("Kafka did not confirm within 5.0s")
        headers = {key: value for key, value in command.headers if isinstance(value, bytes)}
        self.sent.append(
            Published(
                command.topic,
                (command.key or b"").decode(),
                command.value or b"",
                headers["correlation-id"].decode(),
                headers["traceparent"].decode(),
            )
        )

    async def reachable(self) -> bool:
        return not self.down

    @property
    def last(self) -> Published:
        return self.sent[-1]


@dataclass
class FakeViews:
    """Read models keyed by id; `error` is raised by every read (Redis down, a bug).

    Versions are kept apart from bodies, as the store keeps them; `reach` moves one
    and wakes the reads waiting for it, as a projector's write does.
    """

    organizations: dict[str, bytes] = field(default_factory=dict)
    license_views: dict[tuple[str, str], bytes] = field(default_factory=dict)
    license_index: dict[str, list[bytes]] = field(default_factory=dict)
    histories: dict[tuple[str, str], list[bytes]] = field(default_factory=dict)
    versions: dict[tuple[ViewName, str, str], int] = field(default_factory=dict)
    commands: dict[str, bytes] = field(default_factory=dict)
    waits: list[tuple[ViewName, str, str, int, float]] = field(default_factory=list)
    error: Exception | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def organization(self, organization_id: str) -> bytes | None:
        return self._read(self.organizations, organization_id)

    async def license(self, organization_id: str, license_id: str) -> bytes | None:
        return self._read(self.license_views, (organization_id, license_id))

    async def licenses(self, organization_id: str, cursor: str | None, limit: int) -> Page:
        """Pages of the index; a cursor is the offset of the page's first item."""
        index = self._read(self.license_index, organization_id) or []
        start = 0 if cursor is None else int(cursor)  # ValueError when malformed
        if start < 0:
            raise ValueError(f"negative cursor {cursor}")
        end = start + limit
        return Page(index[start:end], len(index), str(end) if end < len(index) else None)

    async def history(self, organization_id: str, aggregate_id: str) -> list[bytes]:
        return self._read(self.histories, (organization_id, aggregate_id)) or []

    async def wait_for_version(
        self,
        view: ViewName,
        organization_id: str,
        aggregate_id: str,
        min_version: int,
        timeout_s: float,
    ) -> int:
        self.waits.append((view, organization_id, aggregate_id, min_version, timeout_s))
        if self.error is not None:
            raise self.error
        key = (view, organization_id, aggregate_id)
        try:
            async with asyncio.timeout(timeout_s), self._changed:
                await self._changed.wait_for(lambda: self.versions.get(key, 0) >= min_version)
        except TimeoutError:
            pass
        return self.versions.get(key, 0)

    async def reach(
        self, view: ViewName, organization_id: str, aggregate_id: str, version: int
    ) -> None:
        """The view now holds `version`: wake whoever waits for it."""
        async with self._changed:
            self.versions[(view, organization_id, aggregate_id)] = version
            self._changed.notify_all()

    async def command(self, command_id: str) -> bytes | None:
        return self._read(self.commands, command_id)

    def _read(self, views: dict[K, V], key: K) -> V | None:
        if self.error is not None:
            raise self.error
        return views.get(key)


class FakeRedis:
    async def ping(self) -> bool:
        return True
