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
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from ostock.kafka.config import Headers, admin_config, consumer_config, header, producer_config
from ostock.kafka.letters import DeadLetter, LetterId, letter_of, originals
from ostock.settings import Settings

#: On a requeued record: the dead letter it came from (kept if it dies again).
REQUEUED_FROM = "requeued-from"
#: On a requeue mark: the dead letter requeued, where the copy went, when.
MARK_OF = "dlq-requeue-of"
MARK_TO = "dlq-requeued-to"
MARK_AT = "dlq-requeued-at"

#: librdkafka logs nothing to the operator's terminal: failures come back as errors.
QUIET = {"log_level": 0}

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
        consumer = self._consumer()
        try:
            ends = {p: self._watermarks(consumer, p) for p in self._partitions(consumer)}
        finally:
            consumer.close()
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
        consumer = self._consumer()
        try:
            partitions = self._partitions(consumer)
            highs = {p: self._watermarks(consumer, p)[1] for p in partitions}
            pending = {p for p, high in highs.items() if high > 0}
            consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in pending])
            while pending:
                message = consumer.poll(self.settings.kafka_timeout_s)
                if message is None:
                    raise DeadLetterQueueError(f"{self.topic}: no answer from Kafka in time")
                error = message.error()
                partition = message.partition() or 0
                if error is not None and error.code() == KafkaError._PARTITION_EOF:
                    pending.discard(partition)
                    continue
                if error is not None:
                    raise DeadLetterQueueError(f"reading {self.topic}: {error}")
                yield message
                if (message.offset() or 0) + 1 >= highs[partition]:
                    pending.discard(partition)
        finally:
            consumer.close()

    def _consumer(self) -> Consumer:
        config = consumer_config(
            self.settings, "ostock.cli.dlq", **QUIET, **{"enable.partition.eof": True}
        )
        return Consumer(config)

    def _partitions(self, consumer: Consumer) -> list[int]:
        timeout = self.settings.kafka_timeout_s
        found = _kafka(lambda: consumer.list_topics(self.topic, timeout=timeout))
        metadata = found.topics.get(self.topic)
        if metadata is None or metadata.error is not None:
            raise DeadLetterQueueError(f"no topic {self.topic} at {self.settings.kafka_bootstrap}")
        return sorted(metadata.partitions)

    def _watermarks(self, consumer: Consumer, partition: int) -> tuple[int, int]:
        tp = TopicPartition(self.topic, partition)
        timeout = self.settings.kafka_timeout_s
        found = _kafka(lambda: consumer.get_watermark_offsets(tp, timeout, cached=False))
        if found is None:
            raise DeadLetterQueueError(f"{self.topic}[{partition}]: no offsets from Kafka in time")
        return int(found[0]), int(found[1])


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
