"""What every stream processor here shares: its Redis client, and decoding a batch with
the poison set aside."""

from collections.abc import Collection, Sequence

from faust.types import Message
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


def decode_all(
    codec: Codec, messages: Sequence[Message], expected: Collection[str]
) -> tuple[list[Positioned], list[Poison]]:
    """The records that decode as one of `expected`, and the poison (for the dead letters)."""
    records: list[Positioned] = []
    poison: list[Poison] = []
    for message in messages:
        try:
            record = codec.decode(message.value, expected)
        except UndecodableRecord as error:
            poison.append((message, error))
        else:
            records.append(Positioned(record, message.topic, message.partition, message.offset))
    return records, poison
