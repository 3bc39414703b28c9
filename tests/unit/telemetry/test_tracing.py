"""Setting up tracing: nothing without an endpoint; with one, the provider the settings
describe. The global provider can be set once per process, hence the child process."""

import json
import subprocess
import sys

from opentelemetry import trace
from opentelemetry.trace import ProxyTracerProvider

from ostock.settings import Settings
from ostock.telemetry.tracing import install_tracing

CHILD = """
import json
from opentelemetry import trace
from ostock.settings import Settings
from ostock.telemetry.tracing import install_tracing
settings = Settings(tracing_endpoint="http://127.0.0.1:9", trace_sampling_ratio=0.25)
tracer = install_tracing(settings, "license-projector")
provider = trace.get_tracer_provider()
print(json.dumps({
    "tracer": type(tracer).__name__,
    "provider": type(provider).__name__,
    "service": provider.resource.attributes["service.name"],
    "sampler": provider.sampler.get_description(),
}))
"""


def test_without_an_endpoint_nothing_is_installed() -> None:
    assert install_tracing(Settings(tracing_endpoint=None), "api") is None
    assert isinstance(trace.get_tracer_provider(), ProxyTracerProvider)


def test_with_an_endpoint_the_process_traces_under_its_name_at_the_ratio() -> None:
    child = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, timeout=60
    )
    installed = json.loads(child.stdout)
    assert installed == {
        "tracer": "Tracer",
        "provider": "TracerProvider",
        "service": "license-projector",
        "sampler": "ParentBased{root:TraceIdRatioBased{0.25},remoteParentSampled:AlwaysOnSampler,"
        "remoteParentNotSampled:AlwaysOffSampler,localParentSampled:AlwaysOnSampler,"
        "localParentNotSampled:AlwaysOffSampler}",
    }
