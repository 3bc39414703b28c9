"""Jaeger (v2, an OpenTelemetry collector) as a local process: traces kept in memory,
taken over OTLP/HTTP, served by its HTTP query API (`/api/traces`). A build from the Go
module has no UI assets: its UI page is a placeholder.

The `jaeger` program is built once from its Go module into the cache folder
(`ensure_binary`: Go's module proxy is where it comes from, as Maven is for the Kafka
jars). Each start writes the process a configuration of its own that names every port
it opens, all on 127.0.0.1: the OTLP/HTTP receiver, the query API (HTTP) and the query
API's gRPC server, which cannot be turned off and gets a free port. Nothing else is
enabled (no OTLP/gRPC, Zipkin or Jaeger receivers, no health, admin or sampling
endpoints, no metrics endpoint of its own), so two instances never collide.
"""

import json
import shutil
import subprocess
from pathlib import Path

import httpx

from ostock.infra.ports import free_port, is_listening
from ostock.infra.process import HttpService, Launch, PidFile

MODULE = "github.com/jaegertracing/jaeger"
VERSION = "v1.75.0"
GO = Path("/usr/local/go/bin/go")  # where Go's own installer puts it; else on PATH
BUILD_TIMEOUT_S = 3600.0  # several hundred modules, compiled on a small machine
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
PROBE_TIMEOUT_S = 1.0
#: Traces kept, oldest dropped first: bounds its memory under a benchmark's load.
MAX_TRACES = 10000


def binary_path(cache_dir: Path) -> Path:
    """Where the built program lives."""
    return cache_dir / f"jaeger-{VERSION}" / "jaeger"


def ensure_binary(cache_dir: Path) -> Path:
    """The `jaeger` program, built from its Go module on first use (minutes)."""
    binary = binary_path(cache_dir)
    if binary.exists():
        return binary
    go = str(GO) if GO.exists() else shutil.which("go")
    if go is None:
        raise RuntimeError(f"building Jaeger needs Go: neither {GO} nor go on PATH")
    binary.parent.mkdir(parents=True, exist_ok=True)
    log = binary.parent.with_name(f"jaeger-{VERSION}.build.log")
    print(f"building Jaeger {VERSION} from its Go module (minutes); log {log}", flush=True)
    with log.open("w") as out:
        # `go install <module>/cmd/jaeger@<version>` refuses a module whose go.mod has
        # replace directives, as Jaeger's has: its source is built in place instead.
        found = subprocess.run(
            [go, "mod", "download", "-json", f"{MODULE}@{VERSION}"],
            check=True,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
        )
        source = json.loads(found.stdout)["Dir"]
        partial = binary.with_suffix(".partial")
        subprocess.run(
            [go, "build", "-buildvcs=false", "-o", str(partial), "./cmd/jaeger"],
            cwd=source,
            check=True,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=BUILD_TIMEOUT_S,
        )
    partial.rename(binary)  # only a whole build counts as built
    return binary


class JaegerServer(HttpService):
    """One local Jaeger: its configuration, pid file and log in `data_dir`/jaeger; its
    traces in memory only, gone when it stops."""

    name = "Jaeger"
    start_timeout_s = START_TIMEOUT_S
    stop_timeout_s = STOP_TIMEOUT_S

    def __init__(self, data_dir: Path, cache_dir: Path, otlp_port: int, query_port: int) -> None:
        folder = data_dir / "jaeger"
        self.cache_dir = cache_dir
        self.otlp_port = otlp_port
        self.config = folder / "jaeger.yaml"
        # Its command line names the config file, unique to this data folder.
        pidfile = PidFile(folder / "jaeger.pid", token=str(self.config))
        super().__init__(folder, query_port, pidfile, folder / "jaeger.log")

    @property
    def otlp_endpoint(self) -> str:
        """Where processes send their spans (settings.tracing_endpoint)."""
        return f"http://127.0.0.1:{self.otlp_port}"

    def _prepare(self) -> Launch:
        binary = ensure_binary(self.cache_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config.write_text(self._config(free_port()))
        return Launch([str(binary), f"--config={self.config}"])

    def _ready(self) -> bool:
        # The query API starts before the receiver: ready once both answer.
        try:
            answered = httpx.get(f"{self.url}/api/services", timeout=PROBE_TIMEOUT_S)
        except httpx.HTTPError:
            return False
        return answered.status_code == 200 and is_listening(self.otlp_port)

    def _config(self, query_grpc_port: int) -> str:
        return f"""\
# Written by ostock.infra.jaeger on every start; edit the code, not this file.
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    # Its own metrics would need a port of their own.
    metrics:
      level: none
    logs:
      level: info
extensions:
  jaeger_storage:
    backends:
      memory_store:
        memory:
          max_traces: {MAX_TRACES}
  jaeger_query:
    storage:
      traces: memory_store
    # Else it traces its own queries, to an OTLP/gRPC endpoint on the default port.
    enable_tracing: false
    http:
      endpoint: 127.0.0.1:{self.port}
    grpc:
      endpoint: 127.0.0.1:{query_grpc_port}
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{self.otlp_port}
exporters:
  jaeger_storage_exporter:
    trace_storage: memory_store
"""
