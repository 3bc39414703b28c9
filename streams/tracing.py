"""The spans of a stream processor's batch (ostock.kafka.tracing over Faust's records)."""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from faust.types import Message
from faust.types.core import HeadersArg
from opentelemetry.trace import Span, Tracer

from ostock.kafka.tracing import processing, processing_batch

#: A record's place: topic, partition, offset.
Position = tuple[str, int, int]


@contextmanager
def traced_batch(
    tracer: Tracer | None, group: str, messages: Sequence[Message]
) -> Iterator[dict[Position, Span] | None]:
    """While the block handles `messages`: the batch's span, current, and a span per record
    continuing the record's trace, by position; None, and no span, without a tracer."""
    if tracer is None:
        yield None
        return
    topics = sorted({m.topic for m in messages})
    with processing_batch(tracer, group, topics, len(messages)):
        spans = {
            (m.topic, m.partition, m.offset): processing(
                tracer, group, m.topic, m.partition, m.offset, m.key, _pairs(m.headers)
            )
            for m in messages
        }
        try:
            yield spans
        finally:
            for span in spans.values():
                span.end()


def _pairs(headers: HeadersArg | None) -> Sequence[tuple[str, bytes]] | None:
    return list(headers.items()) if isinstance(headers, Mapping) else headers
