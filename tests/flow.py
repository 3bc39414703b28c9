"""Commands that keep flowing while a test moves partitions, pauses a handler or bounces
the broker: chunks published from a thread of their own, alternately by O-stock's
publisher and by a client that partitions as librdkafka does by default (CRC32, not
the murmur2 of Java and aiokafka), as a client in another language would."""

import threading
import time
from collections.abc import Iterable
from types import TracebackType
from uuid import uuid4

from confluent_kafka import KafkaError, Message, Producer

from ostock.commands import Issuer, command_topic, license_command, organization_command
from ostock.contract import Codec
from ostock.contract.records import Command
from ostock.kafka.publisher import CommandPublisher, PublishError
from ostock.settings import Settings
from tests.kafka_helpers import results_for

OFFICE = {"product_name": "Office", "license_type": "user", "description": "", "comment": ""}
ACME = {
    "name": "Acme",
    "contact_name": "Ada",
    "contact_email": "ada@acme.example",
    "contact_phone": "",
}


class ForeignPublisher:
    """Commands keyed by organization id, placed by librdkafka's default partitioner."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.codec = Codec()
        self.producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})

    def publish(self, commands: Iterable[Command]) -> None:
        failures: list[KafkaError] = []

        def delivered(error: KafkaError | None, message: Message) -> None:
            if error is not None:
                failures.append(error)

        for command in commands:
            self.producer.produce(
                command_topic(command, self.settings.topics),
                key=command.meta.organization_id.encode(),
                value=self.codec.write(command),
                on_delivery=delivered,
            )
        if self.producer.flush(self.settings.kafka_timeout_s) or failures:
            raise PublishError(f"not delivered: {failures[:3]}")


class Flow:
    """`commands` published in chunks of `chunk`, one every `every_s` seconds, while the
    block runs; a chunk the broker does not take is sent again (same command ids, as a
    client retries). Leaving the block waits until every chunk is out."""

    def __init__(
        self, settings: Settings, commands: list[Command], chunk: int = 10, every_s: float = 0.2
    ) -> None:
        self.publishers = (CommandPublisher(settings), ForeignPublisher(settings))
        self.chunks = [commands[start : start + chunk] for start in range(0, len(commands), chunk)]
        self.every_s = every_s
        self.sent = 0
        self.retries = 0
        self._thread = threading.Thread(target=self._publish, name="flow", daemon=True)

    def __enter__(self) -> "Flow":
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._thread.join(300)
        assert not self._thread.is_alive(), "the flow did not end"
        assert self.sent == len(self.chunks), f"{self.sent} of {len(self.chunks)} chunks sent"

    def _publish(self) -> None:
        deadline = time.monotonic() + 240
        for index, chunk in enumerate(self.chunks):
            while time.monotonic() < deadline:
                try:
                    self.publishers[index % 2].publish(chunk)
                    break
                except PublishError:
                    self.retries += 1
                    time.sleep(1)
            else:
                return
            self.sent += 1
            time.sleep(self.every_s)


def creates_and_updates(organizations: list[str], rounds: int) -> list[Command]:
    """A create of each organization, then `rounds` rounds of an update of each."""
    commands: list[Command] = [
        organization_command("create", o, Issuer("tester"), ACME) for o in organizations
    ]
    commands += [
        organization_command("update", o, Issuer("tester"), ACME | {"name": f"v{i}"})
        for i in range(rounds)
        for o in organizations
    ]
    return commands


def grants_and_changes(organizations: list[str], rounds: int) -> list[Command]:
    """A license granted to each organization, then `rounds` rounds of a change of each."""
    licenses = [(o, str(uuid4())) for o in organizations]
    commands: list[Command] = [
        license_command("create", o, i, Issuer("tester"), OFFICE) for o, i in licenses
    ]
    commands += [
        license_command("update", o, i, Issuer("tester"), OFFICE | {"comment": f"v{n}"})
        for n in range(rounds)
        for o, i in licenses
    ]
    return commands


def created(settings: Settings, publisher: CommandPublisher, count: int) -> list[str]:
    """`count` new organizations, created and decided."""
    organizations = [str(uuid4()) for _ in range(count)]
    creates = creates_and_updates(organizations, 0)
    publisher.publish(creates)
    results_for(settings, {c.meta.command_id for c in creates}, timeout_s=60)
    return organizations
