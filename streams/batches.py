"""What every stream processor here shares: decoding a batch with the poison set aside."""

from collections.abc import Sequence

from faust.types import Message

from ostock.contract import Codec, UndecodableRecord
from ostock.contract.records import Kinds, R
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
