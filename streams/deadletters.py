"""Poison records (undecodable, unknown schema, wrong type, or refused by Redis when
applied) go to the dead-letter topic,
keeping their key and value, with headers saying why and whence (ostock.kafka.deadletters)."""

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import cast

import faust
from faust.types import Message

from ostock.contract import UndecodableRecord
from ostock.kafka.config import Headers
from ostock.kafka.deadletters import Unprocessable, dead_letter_headers
from ostock.kafka.delivery import sent
from ostock.telemetry.context import about
from ostock.telemetry.labels import child
from ostock.telemetry.metrics import DEAD_LETTERS

log = logging.getLogger(__name__)

Poison = tuple[Message, UndecodableRecord | Unprocessable]


class DeadLetters:
    """The dead-letter topic as one projector (consumer group `consumer`) writes to it."""

    def __init__(self, app: faust.App, topic: str) -> None:
        self.name = topic
        self.topic = app.topic(topic)
        self.consumer = app.conf.id

    async def send(self, poison: Sequence[Poison]) -> None:
        """Send every poison record and wait until the broker has them all; count them."""
        pending = [await self._send(message, error) for message, error in poison]
        await asyncio.gather(*pending)
        sent(self.name for _ in poison)
        for _, error in poison:
            child(DEAD_LETTERS, self.consumer, error.reason).inc()

    async def _send(
        self, message: Message, error: UndecodableRecord | Unprocessable
    ) -> asyncio.Future[object]:
        with about(message.topic, message.partition, message.offset, message.headers):
            log.warning(
                "dead-lettering %s[%d]@%d: %s",
                message.topic,
                message.partition,
                message.offset,
                error,
            )
        headers = dead_letter_headers(
            reason=error.reason,
            error=str(error),
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            consumer=self.consumer,
            original=_as_list(message.headers),
        )
        # force: sent now, not attached to the event being processed (sent at its ack).
        # The header values are ours (bytes) or the original record's, passed through.
        return await self.topic.send(  # type: ignore[return-value]
            key=message.key,
            value=message.value,
            headers=cast(list[tuple[str, bytes]], headers),
            force=True,
        )


def _as_list(headers: Sequence[tuple[str, bytes]] | Mapping[str, bytes] | None) -> Headers:
    if headers is None:
        return []
    return list(headers.items()) if isinstance(headers, Mapping) else list(headers)
