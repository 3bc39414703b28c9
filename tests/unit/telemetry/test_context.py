"""The record context: what a line logged while a record is processed says about it."""

import asyncio

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from ostock.telemetry.context import about, parse_traceparent, record_fields

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


def test_a_traceparent_gives_its_trace_and_parent_span() -> None:
    assert parse_traceparent(TRACEPARENT) == (TRACE_ID, PARENT_ID)
    assert parse_traceparent(f" 00-{TRACE_ID}-{PARENT_ID}-00\n") == (
        TRACE_ID,
        PARENT_ID,
    )
    # A later version may add fields after the flags; version 00 may not.
    assert parse_traceparent(f"01-{TRACE_ID}-{PARENT_ID}-01-more") == (TRACE_ID, PARENT_ID)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "00-zz-01",
        f"00-{TRACE_ID.upper()}-{PARENT_ID}-01",  # upper case is not W3C's
        f"00-{TRACE_ID}-{PARENT_ID}",
        f"00-{TRACE_ID}-{PARENT_ID}-01-more",
        f"ff-{TRACE_ID}-{PARENT_ID}-01",
        f"00-{'0' * 32}-{PARENT_ID}-01",
        f"00-{TRACE_ID}-{'0' * 16}-01",
        f"00-{TRACE_ID}0-{PARENT_ID}-01",
        f"00-+{TRACE_ID[1:]}-{PARENT_ID}-01",
    ],
)
def test_anything_else_is_no_traceparent(value: str) -> None:
    assert parse_traceparent(value) is None


def test_inside_about_lines_name_the_record_and_its_headers_ids() -> None:
    headers = [("correlation-id", b"order-42"), ("traceparent", TRACEPARENT.encode())]
    with about("ostock.organization.commands", 2, 17, headers):
        assert record_fields() == {
            "topic": "ostock.organization.commands",
            "partition": 2,
            "offset": 17,
            "correlation_id": "order-42",
            "trace_id": TRACE_ID,
            "span_id": PARENT_ID,
        }
    assert record_fields() == {}


def test_a_record_being_sent_has_no_position_and_headers_may_be_a_mapping() -> None:
    with about("ostock.license.commands", headers={"correlation-id": "c-1"}):
        assert record_fields() == {"topic": "ostock.license.commands", "correlation_id": "c-1"}
    with about("t", 0, 1, [("traceparent", b"garbage")]):
        assert record_fields() == {"topic": "t", "partition": 0, "offset": 1}


def test_contexts_nest_and_restore() -> None:
    with about("outer", 0, 1):
        with about("inner", 0, 2):
            assert record_fields()["topic"] == "inner"
        assert record_fields()["topic"] == "outer"


async def test_concurrent_tasks_each_see_their_own_record() -> None:
    seen: dict[str, object] = {}

    async def process(name: str, offset: int) -> None:
        with about(name, 0, offset):
            await asyncio.sleep(0.01)  # the other task runs meanwhile, inside its own
            seen[name] = record_fields()["offset"]

    await asyncio.gather(process("a", 1), process("b", 2))
    assert seen == {"a": 1, "b": 2}


def test_a_recording_span_of_the_records_trace_gives_the_span() -> None:
    tracer = TracerProvider().get_tracer(__name__)  # this test's own: none installed globally
    parent = TraceContextTextMapPropagator().extract({"traceparent": TRACEPARENT})
    with (
        tracer.start_as_current_span("process", context=parent) as span,
        about("t", 0, 1, [("traceparent", TRACEPARENT.encode())]),
    ):
        fields = record_fields()
    span_id = trace.format_span_id(span.get_span_context().span_id)
    assert (fields["trace_id"], fields["span_id"]) == (TRACE_ID, span_id)
    assert span_id != PARENT_ID


def test_a_span_of_another_trace_leaves_a_records_lines_their_trace() -> None:
    tracer = TracerProvider().get_tracer(__name__)
    with tracer.start_as_current_span("batch") as span:  # a new trace, linking records
        with about("t", 0, 1, [("traceparent", TRACEPARENT.encode())]):
            about_the_record = record_fields()
        outside = record_fields()
    context = span.get_span_context()
    assert (about_the_record["trace_id"], about_the_record["span_id"]) == (TRACE_ID, PARENT_ID)
    # Outside a record, the span's ids mark the line.
    assert outside == {
        "trace_id": trace.format_trace_id(context.trace_id),
        "span_id": trace.format_span_id(context.span_id),
    }
    with tracer.start_as_current_span("batch") as other, about("t", 0, 1):
        # A record without a trace of its own: the span's.
        assert record_fields()["trace_id"] == trace.format_trace_id(
            other.get_span_context().trace_id
        )
