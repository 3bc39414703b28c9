"""Commands issued from a Faust worker (the saga's), sent like every other writer sends
them: Avro-encoded by the Codec, keyed by organization id, with a correlation-id header,
and partitioned by murmur2 (aiokafka's default, as the confluent-kafka producers are
configured in ostock.kafka.config), so a command lands on its organization's partition."""

import asyncio
from collections.abc import Sequence

from faust.types import TopicT
from opentelemetry.context import Context

from ostock.commands import command_topic
from ostock.contract import Codec
from ostock.contract.records import Command
from ostock.kafka.delivery import Outgoing, sent
from ostock.kafka.publisher import command_record
from ostock.kafka.tracing import sending, with_context
from ostock.settings import Settings
from streams.app import BatchApp


class CommandSender:
    """Sends commands through the app's producer and waits for the broker's acks; each in
    a "send" span of its cause's trace, when the app traces."""

    def __init__(self, app: BatchApp, settings: Settings, codec: Codec) -> None:
        self.app = app
        self.settings = settings
        self.codec = codec
        self._topics: dict[str, TopicT] = {}

    async def send(
        self, commands: Sequence[Command], causes: Sequence[Context] | None = None
    ) -> None:
        """Send every command and wait until the broker has them all, and count them;
        `causes`, when given, holds the context each command continues.

        Bounded by settings.kafka_timeout_s (the Faust producer's own timeout is 20
        minutes): a timeout raises, and the caller sends the same commands again.
        """
        if not commands:
            return
        timeout_s = self.settings.kafka_timeout_s
        # Sending waits for the topic's metadata first, which may not come.
        pending = await asyncio.wait_for(self._send_all(commands, causes), timeout_s)
        # asyncio.wait, not wait_for: the delivery futures are the producer's, not ours to
        # cancel; a command still in flight after the timeout is sent again, harmlessly.
        done, late = await asyncio.wait(pending, timeout=timeout_s)
        if late:
            raise TimeoutError(f"{len(late)} of {len(pending)} commands unacked in {timeout_s}s")
        for delivery in done:
            delivery.result()  # raises what the broker answered
        sent(command_topic(command, self.settings.topics) for command in commands)

    async def _send_all(
        self, commands: Sequence[Command], causes: Sequence[Context] | None
    ) -> "list[asyncio.Future[object]]":
        topics = self.settings.topics
        records = [command_record(self.codec, topics, command) for command in commands]
        tracer = self.app.otel_tracer
        if tracer is None or causes is None:
            return [await self._send(record) for record in records]
        pending = []
        for record, cause in zip(records, causes, strict=True):
            with sending(tracer, record.topic, record.key, cause):
                traced = record._replace(headers=with_context(record.headers))
                pending.append(await self._send(traced))
        return pending

    async def _send(self, record: Outgoing) -> "asyncio.Future[object]":
        # force: sent now, not attached to the event being processed (sent at its ack).
        headers = [(key, value) for key, value in record.headers if isinstance(value, bytes)]
        return await self._topic(record.topic).send(  # type: ignore[return-value]
            key=record.key, value=record.value, headers=headers, force=True
        )

    def _topic(self, name: str) -> TopicT:
        if name not in self._topics:
            self._topics[name] = self.app.topic(name)
        return self._topics[name]
