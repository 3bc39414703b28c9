"""What every stream processor here shares: its Redis client, batches whose offsets
stay unacked until they are handled, and decoding with poison set aside."""

from collections.abc import AsyncIterator, Collection, Sequence
from typing import cast

import faust
from faust.types import EventT, StreamT
from redis.asyncio import Redis

from ostock.contract import Codec, UndecodableRecord
from ostock.credentials import redis_login
from ostock.settings import Settings
from ostock.views.models import Positioned
from streams.deadletters import Poison


def redis_client(settings: Settings) -> Redis:
    """A client logged in as this process's Redis user, every call bounded."""
    username, password = redis_login(settings)
    return Redis.from_url(
        settings.redis_url,
        username=username,
        password=password,
        socket_timeout=settings.redis_timeout_s,
        socket_connect_timeout=settings.redis_timeout_s,
    )


async def held_batches(
    stream: StreamT[bytes], settings: Settings
) -> AsyncIterator[Sequence[EventT[bytes]]]:
    """Batches of the stream; a batch's offsets are acked only once the caller asks
    for the next one, so a batch whose handling failed or was cut short stays unacked.

    take_events acks a batch when it is closed, handled or not, and faust closes it
    when the worker stops (Stream.on_stop), even in the middle of a retry; acked
    offsets get committed. Each record holds one more reference while its batch is
    handled, so that ack cannot complete before.
    """
    # take_events is on faust.Stream, what agents get, but not on StreamT.
    batches = cast(faust.Stream[bytes], stream).take_events
    async for events in batches(
        settings.projector_batch_size, within=settings.projector_batch_wait_s
    ):
        for event in events:
            event.message.incref()
        yield events
        for event in events:
            event.message.decref()


def decode_all(
    codec: Codec, events: Sequence[EventT[bytes]], expected: Collection[str]
) -> tuple[list[Positioned], list[Poison]]:
    """The records that decode as one of `expected`, and the poison (for the dead letters)."""
    records: list[Positioned] = []
    poison: list[Poison] = []
    for event in events:
        message = event.message
        try:
            record = codec.decode(message.value, expected)
        except UndecodableRecord as error:
            poison.append((message, error))
        else:
            records.append(Positioned(record, message.topic, message.partition, message.offset))
    return records, poison
