"""In-memory stand-ins for the API's Kafka and Redis edges, honest about what they record."""

from dataclasses import dataclass, field

from api.publisher import KafkaUnavailable
from ostock.contract import Codec, Record


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

    async def publish(
        self, topic: str, organization_id: str, value: bytes, correlation_id: str, traceparent: str
    ) -> None:
        if self.down:
            raise KafkaUnavailable("Kafka did not confirm within 5.0s")
        self.sent.append(Published(topic, organization_id, value, correlation_id, traceparent))

    async def reachable(self) -> bool:
        return not self.down

    @property
    def last(self) -> Published:
        return self.sent[-1]


@dataclass
class FakeViews:
    """Read models keyed by id; `error` is raised by every read (Redis down, a bug)."""

    organizations: dict[str, bytes] = field(default_factory=dict)
    commands: dict[str, bytes] = field(default_factory=dict)
    error: Exception | None = None

    async def organization(self, organization_id: str) -> bytes | None:
        return self._read(self.organizations, organization_id)

    async def command(self, command_id: str) -> bytes | None:
        return self._read(self.commands, command_id)

    def _read(self, views: dict[str, bytes], key: str) -> bytes | None:
        if self.error is not None:
            raise self.error
        return views.get(key)


class FakeRedis:
    async def ping(self) -> bool:
        return True
