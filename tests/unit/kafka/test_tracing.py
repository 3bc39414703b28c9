"""The trace context in Kafka headers, and the spans of a batch, with the real SDK (its
spans kept in memory rather than exported)."""

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Tracer

from ostock.kafka.config import Headers
from ostock.kafka.tracing import context_of, processing, processing_batch, sending, with_context

GROUP = "ostock.organization-service"
TOPIC = "ostock.organization.commands"


@pytest.fixture
def finished() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer(finished: InMemorySpanExporter) -> Iterator[Tracer]:
    # A provider of the test's own: the global one is the process's, set once.
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(finished))
    yield provider.get_tracer("test")
    provider.shutdown()


def by_name(finished: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    return {span.name: span for span in finished.get_finished_spans()}


def test_a_context_put_in_headers_is_read_back_the_same(tracer: Tracer) -> None:
    with tracer.start_as_current_span("sent") as span:
        headers = with_context([("correlation-id", b"c-1")])
    sent = span.get_span_context()

    read = trace.get_current_span(context_of(headers)).get_span_context()

    assert (read.trace_id, read.span_id, read.is_remote) == (sent.trace_id, sent.span_id, True)
    assert read.trace_flags.sampled
    assert headers[0] == ("correlation-id", b"c-1")
    assert [name for name, _ in headers] == ["correlation-id", "traceparent"]


def test_the_context_put_in_replaces_the_one_carried_before(tracer: Tracer) -> None:
    old = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with tracer.start_as_current_span("sent") as span:
        headers = with_context([("traceparent", old.encode()), ("tracestate", b"a=1")])

    sent = span.get_span_context()
    [(name, value)] = headers
    assert name == "traceparent"
    assert value == f"00-{sent.trace_id:032x}-{sent.span_id:016x}-{sent.trace_flags:02x}".encode()


def test_headers_as_aiokafka_gives_them_and_text_values_are_read_too() -> None:
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    for headers in (
        (("traceparent", traceparent.encode()),),
        [("traceparent", traceparent)],
    ):
        read = trace.get_current_span(context_of(headers)).get_span_context()
        assert read.trace_id == 0x0AF7651916CD43DD8448EB211C80319C
        assert read.span_id == 0xB7AD6B7169203331


def test_no_trace_header_gives_no_parent(tracer: Tracer) -> None:
    for headers in (None, [], [("correlation-id", b"c-1")], [("traceparent", b"00-zz-01")]):
        assert not trace.get_current_span(context_of(headers)).get_span_context().is_valid


def test_a_record_span_continues_the_senders_trace_and_the_batch_links_it(
    tracer: Tracer, finished: InMemorySpanExporter
) -> None:
    headers: Headers = []
    with sending(tracer, TOPIC, b"org-1"):
        headers = with_context(headers)
    with processing_batch(tracer, GROUP, [TOPIC], 1):
        processing(tracer, GROUP, TOPIC, 2, 41, b"org-1", headers).end()

    spans = by_name(finished)
    send, batch = spans[f"send {TOPIC}"], spans[f"process {TOPIC}"]
    [record] = [s for s in finished.get_finished_spans() if s.parent is not None]
    assert send.kind == SpanKind.PRODUCER
    assert record.kind == batch.kind == SpanKind.CONSUMER
    assert record.parent is not None and record.parent.span_id == send.context.span_id
    assert record.context.trace_id == send.context.trace_id
    assert [link.context.span_id for link in batch.links] == [send.context.span_id]
    assert batch.context.trace_id != send.context.trace_id
    assert dict(record.attributes or {}) == {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.destination.name": TOPIC,
        "messaging.kafka.message.key": "org-1",
        "messaging.destination.partition.id": "2",
        "messaging.kafka.offset": 41,
        "messaging.consumer.group.name": GROUP,
    }
    assert (batch.attributes or {})["messaging.batch.message_count"] == 1
