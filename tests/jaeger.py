"""Reading traces back from a Jaeger's HTTP query API, as the tracing tests check them."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

WAIT_S = 30.0


@dataclass(frozen=True)
class Span:
    """One span as Jaeger's query API returns it: who made it, its name, its tags and
    the spans it refers to (CHILD_OF its parent, FOLLOWS_FROM a link)."""

    span_id: str
    trace_id: str
    service: str
    name: str
    tags: dict[str, Any]
    references: tuple[tuple[str, str, str], ...]  # (refType, traceID, spanID)

    @property
    def parent(self) -> str | None:
        return next((span for kind, _, span in self.references if kind == "CHILD_OF"), None)


def spans_of(document: dict[str, Any]) -> list[Span]:
    """The spans of every trace in a query API answer."""
    found: list[Span] = []
    for trace in document.get("data") or []:
        services = {key: p["serviceName"] for key, p in trace["processes"].items()}
        for span in trace["spans"]:
            found.append(
                Span(
                    span["spanID"],
                    span["traceID"],
                    services[span["processID"]],
                    span["operationName"],
                    {tag["key"]: tag["value"] for tag in span.get("tags", [])},
                    tuple((r["refType"], r["traceID"], r["spanID"]) for r in span["references"]),
                )
            )
    return found


def trace_spans(url: str, trace_id: str) -> list[Span]:
    """The spans Jaeger has of one trace so far (none yet: an empty list)."""
    answer = httpx.get(f"{url}/api/traces/{trace_id}", timeout=5)
    if answer.status_code == 404:
        return []
    answer.raise_for_status()
    return spans_of(answer.json())


def search(url: str, service: str, operation: str) -> list[Span]:
    """The spans of the latest traces holding a span of `service` named `operation`."""
    params = {"service": service, "operation": operation, "limit": "50", "lookback": "1h"}
    answer = httpx.get(f"{url}/api/traces", params=params, timeout=5)
    answer.raise_for_status()
    return spans_of(answer.json())


def eventually(read: Callable[[], list[Span]], done: Callable[[list[Span]], bool]) -> list[Span]:
    """`read()` again until `done` holds of its spans (spans arrive as each process
    exports its batch); AssertionError with what was there after WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while not done(spans := read()):
        found = sorted({(s.service, s.name) for s in spans})
        assert time.monotonic() < deadline, f"after {WAIT_S}s: {found}"
        time.sleep(0.5)
    return spans
