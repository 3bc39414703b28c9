"""A dead letter as operators see it (`ostock dlq`): where it sits, the original record
and the headers saying why and whence; and choosing among letters."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from confluent_kafka import Message

from ostock.kafka import deadletters as dlq
from ostock.kafka.config import Headers, header


class LetterId(NamedTuple):
    """Where a dead letter sits in the dead-letter topic."""

    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.partition}:{self.offset}"

    @classmethod
    def parse(cls, text: str) -> "LetterId":
        """``partition:offset``, or ValueError."""
        partition, sep, offset = text.partition(":")
        if not sep or not partition.isdigit() or not offset.isdigit():
            raise ValueError(f"{text!r} is not a dead-letter id (partition:offset)")
        return cls(int(partition), int(offset))


@dataclass(frozen=True)
class DeadLetter:
    """One dead letter: the original record and the headers saying why and whence."""

    id: LetterId
    key: bytes | None
    value: bytes | None
    headers: Headers
    requeued_to: str | None = None  # "topic[partition]@offset" of its copy, once requeued

    def get(self, name: str) -> str:
        return header(self.headers, name) or ""

    @property
    def reason(self) -> str:
        return self.get(dlq.REASON)

    @property
    def source(self) -> tuple[str, int, int]:
        """Topic, partition and offset of the original record."""
        partition, offset = self.get(dlq.SOURCE_PARTITION), self.get(dlq.SOURCE_OFFSET)
        return self.get(dlq.SOURCE_TOPIC), int(partition or -1), int(offset or -1)

    @property
    def original_headers(self) -> Headers:
        """The headers the record had when it first arrived."""
        return [(k, v) for k, v in self.headers if not k.startswith("dlq-")]


def letter_of(message: Message) -> DeadLetter:
    """The dead letter a record of the dead-letter topic is."""
    headers: Headers = [(str(h[0]), h[1]) for h in message.headers() or []]
    return DeadLetter(
        LetterId(message.partition() or 0, message.offset() or 0),
        message.key(),
        message.value(),
        headers,
    )


def originals(letters: Iterable[DeadLetter]) -> list[DeadLetter]:
    """One letter per original record, in the order the records had in their source
    partition (the order their consumers first saw them in)."""
    unique: dict[tuple[str, int, int], DeadLetter] = {}
    for letter in letters:
        unique.setdefault(letter.source, letter)
    return [unique[source] for source in sorted(unique)]


def same_records(chosen: Iterable[DeadLetter], letters: Iterable[DeadLetter]) -> list[DeadLetter]:
    """Every letter of the records of `chosen`: each consumer that failed on a record
    wrote one, and a requeued record reaches them all."""
    sources = {letter.source for letter in chosen}
    return [letter for letter in letters if letter.source in sources]


def select(
    letters: Iterable[DeadLetter],
    *,
    reason: str | None = None,
    source_topic: str | None = None,
    consumer: str | None = None,
    requeued: bool | None = None,
) -> list[DeadLetter]:
    """The letters matching every filter given."""
    return [
        letter
        for letter in letters
        if (reason is None or letter.reason == reason)
        and (source_topic is None or letter.source[0] == source_topic)
        and (consumer is None or letter.get(dlq.CONSUMER) == consumer)
        and (requeued is None or (letter.requeued_to is not None) == requeued)
    ]
