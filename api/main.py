"""The API's composition root: `create_app` wires the routes, the lifespan owns the clients."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial

import uvicorn
from fastapi import Depends, FastAPI
from opentelemetry.trace import Tracer
from starlette.types import ASGIApp

from api import metrics
from api.auth import get_caller
from api.fast_reads import FastReads
from api.metrics import MetricsMiddleware
from api.problems import install_problem_handlers, problem_responses
from api.publisher import CommandPublisher, api_producer
from api.redis_client import redis_client
from api.routes import commands, health, history, licenses, organizations
from api.tracing import TracingMiddleware
from ostock.auth.configured import token_verifier
from ostock.contract import Codec
from ostock.kafka.schema_registry import register
from ostock.logs import configure_logging
from ostock.settings import Settings
from ostock.telemetry.tracing import install_tracing
from ostock.views.generations import LiveKeys
from ostock.views.reader import ViewReader


def create_app(settings: Settings | None = None, tracer: Tracer | None = None) -> FastAPI:
    """The API; it connects to nothing until its lifespan starts. Given a tracer, each
    request is a span, and so are the commands it sends and its Redis calls.

    Raises AuthConfigError when the settings name no trustworthy token issuer.
    """
    app = _API(
        title="O-stock API",
        summary="Organizations and their licenses: commands in, read models out.",
        version="1",
        lifespan=_lifespan,
        # Its metrics are Prometheus's (api.metrics) and its spans its own (api.tracing):
        # FastAPI's OpenTelemetry hooks would only look, on every request, for providers
        # that nothing here sets up, and miss the reads answered before FastAPI.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    settings = settings or Settings()
    app.state.settings = settings
    app.state.tracer = tracer
    app.state.codec = Codec()
    install_problem_handlers(app)
    app.state.verifier = token_verifier(app.state.settings)  # refuses the dev issuer in production
    for module in (organizations, licenses, history, commands):
        app.include_router(
            module.router,
            dependencies=[Depends(get_caller)],
            responses=problem_responses(401, 403),
        )
    app.include_router(health.router)
    app.include_router(
        metrics.router, dependencies=[] if settings.metrics_public else [Depends(get_caller)]
    )
    return app


class _API(FastAPI):
    """FastAPI behind the metrics and the plain view reads (api.fast_reads), which run
    before FastAPI's own middleware: its error, telemetry and body-limit layers are a
    measurable share of a view read (docs/performance.md), and a plain read needs none
    of them."""

    def build_middleware_stack(self) -> ASGIApp:
        stack = MetricsMiddleware(FastReads(super().build_middleware_stack(), self.state))
        tracer: Tracer | None = self.state.tracer
        return stack if tracer is None else TracingMiddleware(stack, tracer)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    async with AsyncExitStack() as stack:
        # The schemas of its commands are registered before the first one goes out.
        schemas = partial(register, settings, app.state.codec.schemas)
        app.state.publisher = await stack.enter_async_context(
            CommandPublisher(api_producer(settings), settings, schemas)
        )
        app.state.redis = await stack.enter_async_context(redis_client(settings, app.state.tracer))
        live = LiveKeys(app.state.redis, settings.redis_prefix, settings.generations_refresh_s)
        app.state.views = ViewReader(app.state.redis, live)
        # Its pub/sub connection (read-your-writes waits) closes before the client does.
        stack.push_async_callback(app.state.views.close)
        yield


def serve(settings: Settings | None = None) -> None:
    """Run the API in the foreground (uvloop, httptools) until interrupted."""
    settings = settings or Settings()
    configure_logging(settings, "api")
    uvicorn.run(
        create_app(settings, install_tracing(settings, "api")),
        host=settings.api_host,
        port=settings.api_port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        # Logging is configured already: uvicorn's loggers propagate to its JSON handler.
        log_config=None,
        log_level=settings.log_level.lower(),
        # One log line per request costs a sizeable share of a view read; request
        # counts and latencies are in /metrics instead.
        access_log=False,
    )
