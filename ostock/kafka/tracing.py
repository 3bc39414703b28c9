"""Traces across Kafka: the W3C trace context in record headers, and the spans of the
OpenTelemetry messaging conventions, for every producer and consumer of O-stock.

A record's `traceparent` (and `tracestate`) header is the context it was sent in, put
there and read back by OpenTelemetry's global propagator over header lists, as
confluent-kafka and aiokafka both give and take them. A "send <topic>" PRODUCER span
covers producing a record and its context goes in the record. Consuming, a "process
<topic>" CONSUMER span per record continues the record's trace (its parent is the
record's context); a batch processed at once has its own "process" span, linked to
each record's context.

Only code given a tracer (ostock.telemetry.tracing) calls these.
"""

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter, Setter
from opentelemetry.trace import Span, SpanKind, Tracer
from opentelemetry.util.types import AttributeValue

from ostock.kafka.config import Headers

#: The headers of the W3C trace context.
TRACE_HEADERS = ("traceparent", "tracestate")

#: Header lists as confluent-kafka (list of pairs, values bytes) and aiokafka (sequence
#: of pairs) give them.
Received = Sequence[tuple[str, str | bytes | None]]


class _HeaderGetter(Getter[Received]):
    def get(self, carrier: Received, key: str) -> list[str] | None:
        values = [
            value.decode() if isinstance(value, bytes) else value
            for name, value in carrier
            if name == key and value is not None
        ]
        return values or None

    def keys(self, carrier: Received) -> list[str]:
        return [name for name, _ in carrier]


class _HeaderSetter(Setter[Headers]):
    def set(self, carrier: Headers, key: str, value: str) -> None:
        carrier.append((key, value.encode()))


_GETTER = _HeaderGetter()
_SETTER = _HeaderSetter()


def context_of(headers: Received | None) -> Context:
    """The context a record was sent in, read from its headers (empty without one)."""
    return propagate.extract(headers or [], getter=_GETTER)


def with_context(
    headers: Iterable[tuple[str, str | bytes | None]], context: Context | None = None
) -> Headers:
    """`headers` with their trace context replaced by `context` (the current one by
    default): what a record sent from there carries."""
    carried: Headers = [(name, value) for name, value in headers if name not in TRACE_HEADERS]
    propagate.inject(carried, context=context, setter=_SETTER)
    return carried


def _attributes(operation: str, topic: str, key: bytes | str | None) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {
        "messaging.system": "kafka",
        "messaging.operation.type": operation,
        "messaging.operation.name": operation,
        "messaging.destination.name": topic,
    }
    if key is not None:
        attributes["messaging.kafka.message.key"] = key.decode() if isinstance(key, bytes) else key
    return attributes


@contextmanager
def sending(
    tracer: Tracer, topic: str, key: bytes | None, context: Context | None = None
) -> Iterator[Span]:
    """The current "send <topic>" PRODUCER span, a child of `context` (the current one by
    default): produce the record inside it, its headers `with_context()`."""
    with tracer.start_as_current_span(
        f"send {topic}",
        context=context,
        kind=SpanKind.PRODUCER,
        attributes=_attributes("send", topic, key),
    ) as span:
        yield span


def processing(
    tracer: Tracer,
    group: str,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    headers: Received | None,
) -> Span:
    """A "process <topic>" CONSUMER span for one record, started, as a child of the context
    the record was sent in; the caller ends it (or makes it current with
    `trace.use_span`). The current span, a batch's, is linked to that context."""
    parent = context_of(headers)
    sent_from = trace.get_current_span(parent).get_span_context()
    batch = trace.get_current_span()
    if sent_from.is_valid and batch.is_recording():
        batch.add_link(sent_from)
    attributes = _attributes("process", topic, key)
    attributes["messaging.destination.partition.id"] = str(partition)
    attributes["messaging.kafka.offset"] = offset
    attributes["messaging.consumer.group.name"] = group
    return tracer.start_span(
        f"process {topic}", context=parent, kind=SpanKind.CONSUMER, attributes=attributes
    )


#: A batch span's attribute: how many records it processed.
BATCH_COUNT = "messaging.batch.message_count"


@contextmanager
def processing_batch(
    tracer: Tracer, group: str, topics: Sequence[str], count: int
) -> Iterator[Span]:
    """The current "process" CONSUMER span of a batch of `count` records from `topics`
    (a batch that grows sets BATCH_COUNT again); the record spans started inside it
    (`processing`) link it to each record's context."""
    attributes: dict[str, AttributeValue] = {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.consumer.group.name": group,
        BATCH_COUNT: count,
    }
    # Named after its destination when it has one, as the conventions name spans.
    name = "process"
    if len(topics) == 1:
        name = f"process {topics[0]}"
        attributes["messaging.destination.name"] = topics[0]
    with tracer.start_as_current_span(name, kind=SpanKind.CONSUMER, attributes=attributes) as span:
        yield span
