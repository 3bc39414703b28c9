"""OpenTelemetry tracing of one process: its tracer, or None when tracing is off.

Each process's composition root calls `install_tracing` once, before it builds its
clients, and hands the tracer it returns to the adapters that make spans (the Kafka
ones, ostock.kafka.tracing; the Redis ones, ostock.views.tracing; the API's request
span, api.tracing). Without settings.tracing_endpoint nothing is installed and every
adapter gets None, so it makes no span and reads no trace header beyond the traceparent
it passes on as before (docs/architecture.md, "Tracing").
"""

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Tracer

from ostock.settings import Settings

#: The instrumentation scope of every span O-stock makes.
SCOPE = "ostock"
#: How long one export to the collector may take: a collector away costs at most this
#: at exit, and a batch of spans then, never a request.
EXPORT_TIMEOUT_S = 5.0
#: How often finished spans go to the collector; a trace is searchable that soon.
EXPORT_EVERY_MS = 1000


def install_tracing(settings: Settings, process: str) -> Tracer | None:
    """Send this process's spans, named after `process` (an ostock.deployables name), to
    settings.tracing_endpoint over OTLP/HTTP; None, and nothing installed, without one.

    New traces are sampled at settings.trace_sampling_ratio, and a span whose parent was
    sampled (or not) follows it, so a trace begun is recorded whole. Spans still buffered
    are flushed at exit (the provider's own atexit hook).
    """
    if settings.tracing_endpoint is None:
        return None
    provider = TracerProvider(
        sampler=ParentBased(TraceIdRatioBased(settings.trace_sampling_ratio)),
        resource=Resource.create({SERVICE_NAME: process}),
        shutdown_on_exit=True,
    )
    endpoint = f"{settings.tracing_endpoint.rstrip('/')}/v1/traces"
    exporter = OTLPSpanExporter(endpoint=endpoint, timeout=EXPORT_TIMEOUT_S)
    provider.add_span_processor(
        BatchSpanProcessor(
            exporter,
            schedule_delay_millis=EXPORT_EVERY_MS,
            export_timeout_millis=int(EXPORT_TIMEOUT_S * 1000),
        )
    )
    # Global, as OpenTelemetry's propagator is: one provider per process.
    trace.set_tracer_provider(provider)
    return provider.get_tracer(SCOPE)
