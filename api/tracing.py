"""The API's request spans: a SERVER span around every HTTP request, the plain view reads
of api.fast_reads included, continuing the caller's trace when it sends a traceparent.

Pure ASGI middleware, outermost (api.main installs it only when the process traces):
FastAPI's own OpenTelemetry hooks would miss the reads answered before it.
"""

from opentelemetry import propagate, trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import SpanKind, Tracer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_Headers = list[tuple[bytes, bytes]]


class _ScopeHeaders(Getter[_Headers]):
    def get(self, carrier: _Headers, key: str) -> list[str] | None:
        wanted = key.encode()
        values = [value.decode("latin-1") for name, value in carrier if name == wanted]
        return values or None

    def keys(self, carrier: _Headers) -> list[str]:
        return [name.decode("latin-1") for name, _ in carrier]


_GETTER = _ScopeHeaders()


class TracingMiddleware:
    """Each HTTP request in a span named `<method> <route template>` (ids stay out of
    span names), with its status; the commands it sends are its children."""

    def __init__(self, app: ASGIApp, tracer: Tracer) -> None:
        self.app = app
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        parent = propagate.extract(scope["headers"], getter=_GETTER)
        attributes = {"http.request.method": method, "url.path": scope["path"]}
        with self.tracer.start_as_current_span(
            method, context=parent, kind=SpanKind.SERVER, attributes=attributes
        ) as span:

            async def answer(message: Message) -> None:
                if message["type"] == "http.response.start":
                    span.set_attribute("http.response.status_code", message["status"])
                    if message["status"] >= 500:
                        span.set_status(trace.StatusCode.ERROR)
                await send(message)

            try:
                await self.app(scope, receive, answer)
            finally:
                route = getattr(scope.get("route"), "path", None)
                if route is not None:
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
