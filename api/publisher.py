"""Publishing commands to Kafka from the event loop without ever blocking it.

confluent-kafka calls delivery callbacks from inside `poll()`; a daemon thread polls,
and each callback settles its request's future on the loop thread. Before the first
command goes out, the schemas it is written with are registered (ostock.kafka.schema_registry).
While the broker is down its circuit (api.circuit) answers commands at once.
"""

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from functools import partial
from types import TracebackType
from typing import Protocol

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from api.circuit import Breaker
from ostock.kafka.config import producer_config, statistics_config
from ostock.kafka.delivery import Outgoing, produce, sent
from ostock.settings import Settings

PROBE_TTL_S = 2.0  # readiness probes reuse one metadata answer this long
_POLL_S = 0.1  # how soon the poll thread notices close()


class KafkaUnavailable(Exception):
    """The broker did not confirm a command, or did not answer, in time."""


class Publisher(Protocol):
    """What the routes need from Kafka."""

    async def publish(self, command: Outgoing) -> None: ...

    async def reachable(self) -> bool: ...


def api_producer(settings: Settings) -> Producer:
    """The API's producer: shared config, plus bounds so a dead broker surfaces quickly."""
    timeout_ms = int(settings.kafka_timeout_s * 1000)
    return Producer(
        producer_config(
            settings,
            **{
                "client.id": "ostock-api",
                "request.timeout.ms": timeout_ms,
                "socket.connection.setup.timeout.ms": timeout_ms,
                "logger": logging.getLogger("api.kafka"),
                **statistics_config(settings),
            },
        )
    )


class CommandPublisher:
    """Produces encoded commands keyed by organization id; `async with` runs its poll thread.

    `register_schemas` (blocking, it raises if the broker does not take them) runs once,
    before the first command: a command is never out before its writer schema.
    """

    def __init__(
        self,
        producer: Producer,
        settings: Settings,
        register_schemas: Callable[[], object] | None = None,
    ) -> None:
        self._producer = producer
        self._timeout_s = settings.kafka_timeout_s
        self.circuit = Breaker.configured("Kafka", settings, self._answers)
        self._register_schemas = register_schemas
        self._registering = asyncio.Lock()
        self._closing = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="kafka-delivery", daemon=True)
        self._probe_lock = asyncio.Lock()
        self._probe_ok = False
        self._probe_expires = 0.0

    async def __aenter__(self) -> "CommandPublisher":
        self._poller.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.circuit.aclose()
        self._closing.set()
        await asyncio.to_thread(self._poller.join)
        # flush() serves the last delivery callbacks while the loop still runs.
        await asyncio.to_thread(self._producer.flush, self._timeout_s)

    async def publish(self, command: Outgoing) -> None:
        """Produce one command (ostock.kafka.publisher.command_record) and wait, at most the
        Kafka timeout, for the broker's ack; CircuitOpen at once, without trying, while its
        circuit is open."""
        if self.circuit.open:
            raise self.circuit.refuse()
        try:
            await self._schemas_registered()
            delivered = self._produce(command)
            await asyncio.wait_for(delivered, self._timeout_s)
        except TimeoutError:
            failure = KafkaUnavailable(f"Kafka did not confirm within {self._timeout_s}s")
        except KafkaUnavailable as error:
            failure = error
        else:
            sent((command.topic,))
            if self.circuit.failures:
                self.circuit.succeeded()
            return
        self.circuit.failed(failure)
        raise failure

    def _produce(self, command: Outgoing) -> "asyncio.Future[None]":
        """Hand one command to the producer: the future settles with the broker's ack."""
        loop = asyncio.get_running_loop()
        delivered: asyncio.Future[None] = loop.create_future()
        try:
            produce(self._producer, command, partial(_report, loop, delivered))
        except (BufferError, KafkaException) as error:  # local queue full, or a fatal producer
            raise KafkaUnavailable(f"Kafka refused the command: {error}") from error
        return delivered

    async def _schemas_registered(self) -> None:
        if self._register_schemas is None:  # done: every command after the first
            return
        async with self._registering:  # concurrent first commands share one registration
            if self._register_schemas is None:
                return
            try:
                await asyncio.to_thread(self._register_schemas)
            except Exception as error:  # the broker's refusal or its silence, as raised
                raise KafkaUnavailable(f"Kafka did not register the schemas: {error}") from error
            self._register_schemas = None

    async def reachable(self) -> bool:
        """Whether the broker answers a metadata request; cached so probes stay cheap.
        False without asking while its circuit is open."""
        if self.circuit.open:
            self.circuit.check_when_due()
            return False
        async with self._probe_lock:  # concurrent probes share one request
            if time.monotonic() >= self._probe_expires:
                if await self._answers():
                    self.circuit.succeeded()
                else:
                    self.circuit.failed("no answer to a metadata request")
            return self._probe_ok

    async def _answers(self) -> bool:
        """A metadata request, the circuit's check too; its answer is what reachable()
        reports for the next PROBE_TTL_S, so the probe agrees with a circuit just closed."""
        try:
            await asyncio.to_thread(self._producer.list_topics, timeout=self._timeout_s)
            self._probe_ok = True
        except KafkaException:
            self._probe_ok = False
        self._probe_expires = time.monotonic() + PROBE_TTL_S
        return self._probe_ok

    def _poll(self) -> None:
        while not self._closing.is_set():
            self._producer.poll(_POLL_S)


def _report(
    loop: asyncio.AbstractEventLoop,
    delivered: "asyncio.Future[None]",
    error: KafkaError | None,
    _message: Message,
) -> None:
    """Delivery callback (poll thread): hand the outcome to the loop thread."""
    if not loop.is_closed():
        loop.call_soon_threadsafe(_settle, delivered, error)


def _settle(delivered: "asyncio.Future[None]", error: KafkaError | None) -> None:
    if delivered.done():  # the request already gave up waiting
        return
    if error is None:
        delivered.set_result(None)
    else:
        delivered.set_exception(KafkaUnavailable(f"Kafka did not take the command: {error.str()}"))
