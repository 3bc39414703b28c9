"""Redis calls as spans, after the OpenTelemetry database conventions: a child of the
span the call serves (a batch's, a request's), never a trace of its own."""

from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Tracer
from opentelemetry.util.types import AttributeValue


def operation_name(commands: Iterable[str]) -> str:
    """The command of a call, the one command of a pipeline, or BATCH for several."""
    names = {command.upper() for command in commands}
    return names.pop() if len(names) == 1 else "BATCH"


def redis_span(tracer: Tracer, operation: str, count: int) -> AbstractContextManager[Span | None]:
    """The current span of a Redis call of `count` commands, when a recorded span is
    current; else no span. A pipeline of one command is `BATCH <command>`."""
    if not trace.get_current_span().is_recording():
        return nullcontext()
    name = operation if count == 1 or operation == "BATCH" else f"BATCH {operation}"
    attributes: dict[str, AttributeValue] = {"db.system.name": "redis", "db.operation.name": name}
    if count > 1:
        attributes["db.operation.batch.size"] = count
    return tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attributes)
