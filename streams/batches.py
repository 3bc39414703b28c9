"""What every stream processor here shares: decoding a batch with the poison set aside,
and a debug line about each record handled."""

import logging
from collections.abc import Sequence

from faust.types import Message

from ostock.contract import Codec, UndecodableRecord
from ostock.contract.records import Kinds, R
from ostock.telemetry.context import about
from ostock.views.models import Positioned
from streams.deadletters import Poison


def decode_all(
    codec: Codec, messages: Sequence[Message], expected: Kinds[R]
) -> tuple[list[Positioned[R]], list[Poison]]:
    """The records that decode as one of `expected`, and the poison (for the dead letters)."""
    records: list[Positioned[R]] = []
    poison: list[Poison] = []
    for message in messages:
        try:
            record = codec.read(message.value, expected)
        except UndecodableRecord as error:
            poison.append((message, error))
        else:
            records.append(Positioned(record, message.topic, message.partition, message.offset))
    return records, poison


def log_each(
    log: logging.Logger, messages: Sequence[Message], done: str, poison: Sequence[Poison] = ()
) -> None:
    """A DEBUG line `done` about each of `messages` but the poison; nothing, at no cost
    per record, unless `log` is at DEBUG: this is a projector's hot path."""
    if not log.isEnabledFor(logging.DEBUG):
        return
    poisoned = {id(message) for message, _ in poison}
    for message in messages:
        if id(message) not in poisoned:
            with about(message.topic, message.partition, message.offset, message.headers):
                log.debug(done)
