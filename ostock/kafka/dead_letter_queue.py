"""The dead-letter topic as operators use it (`ostock dlq`): read the dead letters with
their reasons, send chosen ones back to their source topic, drop old ones.

A dead letter (ostock.kafka.letters) is named by where it sits in the dead-letter topic,
``partition:offset``. A requeue is remembered in the same topic by a mark: a record
without value whose headers name the dead letter and where its copy went. Kafka deletes only a
partition's oldest records, so a purge drops everything before an offset.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar

from confluent_kafka import (
    OFFSET_BEGINNING,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from ostock.kafka.config import QUIET, Headers, admin_config, header, producer_config
from ostock.kafka.letters import DeadLetter, LetterId, letter_of, originals
from ostock.kafka.topic_reader import TopicReader
from ostock.settings import Settings

#: On a requeued record: the dead letter it came from (kept if it dies again).
REQUEUED_FROM = "requeued-from"
#: On a requeue mark: the dead letter requeued, where the copy went, when.
MARK_OF = "dlq-requeue-of"
MARK_TO = "dlq-requeued-to"
MARK_AT = "dlq-requeued-at"

T = TypeVar("T")


class DeadLetterQueueError(RuntimeError):
    """Kafka could not be reached, or refused what was asked."""


@dataclass
class DeadLetterQueue:
    """The dead-letter topic of `settings`, read and written with confluent-kafka."""

    settings: Settings
    topic: str = field(init=False)

    def __post_init__(self) -> None:
        self.topic = self.settings.topics.dead_letters

    def letters(self) -> list[DeadLetter]:
        """Every dead letter still in the topic, oldest first per partition."""
        letters: dict[LetterId, DeadLetter] = {}
        marks: dict[str, str] = {}
        for message in self._read_all():
            of = header(message.headers(), MARK_OF)
            if of is not None:
                marks[of] = header(message.headers(), MARK_TO) or "?"
            else:
                letter = letter_of(message)
                letters[letter.id] = letter
        return [replace(d, requeued_to=marks.get(str(d.id))) for d in letters.values()]

    def requeue(self, letters: Sequence[DeadLetter]) -> dict[LetterId, str]:
        """Produce the original key, value and headers of each letter's record to its
        source partition, once per record, then mark every letter requeued; returns
        where each letter's record went ("topic[partition]@offset")."""
        producer = Producer(producer_config(self.settings, **QUIET))
        copies = [(letter, self._produce_copy(producer, letter)) for letter in originals(letters)]
        self._flush(producer)
        went = {letter.source: copy.result() for letter, copy in copies}
        at = datetime.now(UTC).isoformat().encode()
        for letter in letters:
            mark = [(MARK_OF, str(letter.id).encode()), (MARK_TO, went[letter.source].encode())]
            headers: Headers = [*mark, (MARK_AT, at)]
            producer.produce(self.topic, key=str(letter.id).encode(), value=None, headers=headers)
        self._flush(producer)
        return {letter.id: went[letter.source] for letter in letters}

    def purge(self, before: dict[int, int] | None = None) -> dict[int, tuple[int, int]]:
        """Delete each partition's records before the given offset (None: all of them);
        returns, per partition that lost records, the offsets dropped [low, high)."""
        reader = self._reader()
        try:
            ends = {p: self._watermarks(reader, p) for p in self._partitions(reader)}
        finally:
            reader.close()
        wanted = {p: ends[p][1] for p in ends} if before is None else before
        cuts = {p: min(o, ends[p][1]) for p, o in wanted.items() if p in ends}
        cuts = {p: o for p, o in cuts.items() if o > ends[p][0]}
        if not cuts:
            return {}
        admin = AdminClient(admin_config(self.settings) | QUIET)
        timeout = self.settings.kafka_timeout_s
        futures = admin.delete_records(
            [TopicPartition(self.topic, p, o) for p, o in cuts.items()],
            request_timeout=timeout,
            operation_timeout=timeout,
        )
        for future in futures.values():
            _kafka(partial(future.result, timeout))
        return {p: (ends[p][0], o) for p, o in cuts.items()}

    def _produce_copy(self, producer: Producer, letter: DeadLetter) -> "Delivery":
        topic, partition, _ = letter.source
        delivery = Delivery()
        producer.produce(
            topic,
            key=letter.key,
            value=letter.value,
            partition=partition,
            headers=[*letter.original_headers, (REQUEUED_FROM, str(letter.id).encode())],
            on_delivery=delivery,
        )
        return delivery

    def _flush(self, producer: Producer) -> None:
        if producer.flush(self.settings.kafka_timeout_s * 2) > 0:
            raise DeadLetterQueueError("Kafka did not acknowledge every record in time")

    def _read_all(self) -> Iterator[Message]:
        reader = self._reader()
        try:
            partitions = self._partitions(reader)
            highs = {p: self._watermarks(reader, p)[1] for p in partitions}
            ends = {(self.topic, p): high for p, high in highs.items() if high > 0}
            reader.assign(TopicPartition(self.topic, p, OFFSET_BEGINNING) for _, p in ends)
            for batch in reader.read(ends, 1, self.settings.kafka_timeout_s):
                if not (batch.records or batch.at_end or batch.errors):
                    raise DeadLetterQueueError(f"{self.topic}: no answer from Kafka in time")
                if batch.errors:
                    raise DeadLetterQueueError(f"reading {self.topic}: {batch.errors[0]}")
                yield from batch.records
        finally:
            reader.close()

    def _reader(self) -> TopicReader:
        return TopicReader.opened(self.settings, "ostock.cli.dlq", **QUIET)

    def _partitions(self, reader: TopicReader) -> list[int]:
        timeout = self.settings.kafka_timeout_s
        found = _kafka(lambda: reader.partitions(self.topic, timeout))
        if found is None:
            raise DeadLetterQueueError(f"no topic {self.topic} at {self.settings.kafka_bootstrap}")
        return found

    def _watermarks(self, reader: TopicReader, partition: int) -> tuple[int, int]:
        timeout = self.settings.kafka_timeout_s
        return _kafka(lambda: reader.watermarks([(self.topic, partition)], timeout))[
            self.topic, partition
        ]


class Delivery:
    """A produce callback remembering where the record went, or why it did not."""

    def __init__(self) -> None:
        self.error: KafkaError | None = None
        self.where: str | None = None

    def __call__(self, error: KafkaError | None, message: Message) -> None:
        self.error = error
        self.where = f"{message.topic()}[{message.partition()}]@{message.offset()}"

    def result(self) -> str:
        if self.error is not None or self.where is None:
            raise DeadLetterQueueError(f"requeue refused: {self.error}")
        return self.where


def _kafka(call: Callable[[], T]) -> T:
    """The answer of a Kafka call; its failure as a DeadLetterQueueError."""
    try:
        return call()
    except KafkaException as error:
        raise DeadLetterQueueError(error.args[0].str()) from None
