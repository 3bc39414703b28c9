"""The record a log line is about: each consumer processes a record (and a writer sends
one) inside `about(...)`, and every line logged meanwhile, in that thread or task, names
it: topic, partition, offset, its correlation id and its trace (ostock.logs).

The trace is the current OpenTelemetry span's if one is recording, else the one the
record's W3C `traceparent` header names, so lines carry it even with tracing off; a line
about a record keeps the record's trace under a span of another trace (a batch's).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import NamedTuple

from opentelemetry import trace

from ostock.kafka.config import AnyHeaders, header
from ostock.kafka.tracing import context_of


class _Record(NamedTuple):
    topic: str
    partition: int | None
    offset: int | None
    # Read only when a line is written: most records are processed without one.
    headers: AnyHeaders


_about: ContextVar[_Record | None] = ContextVar("ostock_log_record", default=None)


@contextmanager
def about(
    topic: str,
    partition: int | None = None,
    offset: int | None = None,
    headers: AnyHeaders = None,
) -> Iterator[None]:
    """Lines logged inside are about the record at `topic`[`partition`]@`offset` (a record
    being sent may not have them yet) whose headers are `headers`."""
    token = _about.set(_Record(topic, partition, offset, headers))
    try:
        yield
    finally:
        _about.reset(token)


def record_fields() -> dict[str, str | int]:
    """The fields of a log line written now: the record in hand's (topic, partition,
    offset, correlation_id) and the trace's (trace_id, span_id); none outside both."""
    fields: dict[str, str | int] = {}
    record = _about.get()
    traceparent = None
    if record is not None:
        fields["topic"] = record.topic
        if record.partition is not None:
            fields["partition"] = record.partition
        if record.offset is not None:
            fields["offset"] = record.offset
        correlation_id = header(record.headers, "correlation-id")
        if correlation_id:
            fields["correlation_id"] = correlation_id
        traceparent = header(record.headers, "traceparent")
    span = trace.get_current_span()
    ids = parse_traceparent(traceparent) if traceparent is not None else None
    if span.is_recording():
        context = span.get_span_context()
        current = trace.format_trace_id(context.trace_id), trace.format_span_id(context.span_id)
        # A span of another trace (a batch's, linking its records) does not name the
        # record's: the line keeps the record's trace.
        if ids is None or current[0] == ids[0]:
            ids = current
    if ids is not None:
        fields["trace_id"], fields["span_id"] = ids
    return fields


def parse_traceparent(value: str) -> tuple[str, str] | None:
    """The trace id and parent span id of a W3C traceparent, or None if it is not one:
    read as every record's context is (ostock.kafka.tracing.context_of)."""
    context = trace.get_current_span(context_of([("traceparent", value)])).get_span_context()
    if not context.is_valid:
        return None
    return trace.format_trace_id(context.trace_id), trace.format_span_id(context.span_id)
