"""Apache Kafka 4.x as one local KRaft node (broker + controller) run from the Maven jars.

The jars are resolved once by Maven into the cache folder (pom.xml beside this
file pins the version); every later start runs offline.
"""

import hashlib
import subprocess
from collections.abc import Mapping
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from ostock.infra.kafka_properties import log4j_properties, server_properties
from ostock.infra.maven import pom_property, require, resolve
from ostock.infra.ports import is_listening
from ostock.infra.process import PidFile, spawn, terminate, wait_ready
from ostock.kafka.config import SCRAM_MECHANISM, scram_login

POM = Path(__file__).with_name("pom.xml")
# The machine is small (2 cores) and one node holds little data. The garbage collector
# settings are those of Kafka's own start scripts (kafka-run-class.sh): with G1's
# default pause goal, young collections paused the broker far longer here.
BROKER_JVM = [
    "-Xms256m",
    "-Xmx512m",
    "-XX:+ExitOnOutOfMemoryError",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
]
TOOL_JVM = ["-Xmx256m"]  # StorageTool runs for about a second
TOOL_TIMEOUT_S = 120.0
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0
METADATA_TIMEOUT_S = 2.0  # a local broker answers in milliseconds once up


def kafka_version() -> str:
    """The Kafka version pinned in pom.xml, the one place it is written."""
    return pom_property(POM, "kafka.version")


def ensure_jars(cache_dir: Path) -> Path:
    """Return the folder holding Kafka's jars (broker and tools), resolving them with Maven
    on first use. The folder is named after pom.xml's digest: a folder resolved from an
    older pom (missing a jar added since) is never trusted."""
    home = cache_dir / f"kafka-{kafka_version()}"
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()[:12]
    goal = ["dependency:copy-dependencies", "-DincludeScope=runtime"]
    return resolve("Kafka jars", POM, goal, home / f"libs-{digest}", home / "maven.log")


class KafkaBroker:
    """One local KRaft node: its config, storage, process and logs under `data_dir`/kafka."""

    def __init__(
        self,
        data_dir: Path,
        cache_dir: Path,
        port: int,
        controller_port: int,
        scram_users: Mapping[str, str] | None = None,
    ) -> None:
        """`scram_users` (name: password, with "broker" and "admin" among them) selects the
        production profile: SCRAM-SHA-512 logins and ACLs instead of PLAINTEXT."""
        self.dir = data_dir / "kafka"
        self.cache_dir = cache_dir
        self.port = port
        self.controller_port = controller_port
        self.data = self.dir / "data"
        self.properties = self.dir / "server.properties"
        self.log4j = self.dir / "log4j2.properties"
        self.log = self.dir / "server.log"
        # JVM output: the only trace of a failure before log4j starts.
        self.console_log = self.dir / "console.log"
        self.pidfile = PidFile(self.dir / "kafka.pid", token=str(self.properties))
        self.scram_users = scram_users
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """The bootstrap servers string clients connect to."""
        return f"127.0.0.1:{self.port}"

    def pid(self) -> int | None:
        """The broker's pid, or None when it does not run."""
        return self.pidfile.pid()

    def start(self) -> None:
        """Start the broker, or reuse the running one, and wait until it serves metadata."""
        pid = self.pid()
        if pid is not None:
            print(f"Kafka already running (pid {pid}) on {self.bootstrap}", flush=True)
            self._wait_ready()
            return
        libs = ensure_jars(self.cache_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        # The secured profile's file holds the node's own passwords: owner only.
        self.properties.touch(mode=0o600)
        self.properties.chmod(0o600)
        self.properties.write_text(
            server_properties(self.port, self.controller_port, self.data, self.scram_users)
        )
        self.log4j.write_text(log4j_properties(self.log))
        self._format_storage(libs)
        self._process = spawn(
            [
                require("java"),
                *BROKER_JVM,
                f"-Dlog4j2.configurationFile={self.log4j}",
                "-cp",
                f"{libs}/*",
                "kafka.Kafka",
                str(self.properties),
            ],
            self.console_log,
            self.pidfile,
        )
        elapsed = self._wait_ready()
        print(f"Kafka ready on {self.bootstrap} in {elapsed:.1f}s", flush=True)

    def stop(self) -> None:
        """Stop the broker (SIGTERM, SIGKILL after a bound); a no-op when it does not run."""
        if self.pid() is None:
            print("Kafka is not running", flush=True)
        elif terminate(self.pidfile, STOP_TIMEOUT_S):
            print("Kafka stopped", flush=True)
        else:
            print(f"Kafka did not stop within {STOP_TIMEOUT_S:.0f}s and was killed", flush=True)
        if self._process is not None:  # reap our child
            self._process.wait(timeout=STOP_TIMEOUT_S)
            self._process = None

    def _wait_ready(self) -> float:
        return wait_ready(
            "Kafka",
            self._serves_metadata,
            self.pidfile,
            [self.log, self.console_log],
            START_TIMEOUT_S,
        )

    def _serves_metadata(self) -> bool:
        # A port check first keeps librdkafka from logging connection errors
        # while the JVM boots; then a real metadata request.
        if not is_listening(self.port):
            return False
        admin = AdminClient({"bootstrap.servers": self.bootstrap, **self._admin_login()})
        try:
            metadata = admin.list_topics(timeout=METADATA_TIMEOUT_S)
        except KafkaException:
            return False
        return bool(metadata.brokers)

    def _format_storage(self, libs: Path) -> None:
        if (self.data / "meta.properties").exists():
            return  # formatted before: formatting again would refuse, and data must survive
        print("formatting Kafka storage (first start only)...", flush=True)
        cluster_id = self._storage_tool(libs, "random-uuid").split()[-1]
        scram = [
            argument
            for name, password in (self.scram_users or {}).items()
            for argument in ("--add-scram", f"{SCRAM_MECHANISM}=[name={name},password={password}]")
        ]
        self._storage_tool(libs, "format", "-t", cluster_id, "-c", str(self.properties), *scram)

    def _storage_tool(self, libs: Path, *args: str) -> str:
        command = [
            require("java"),
            *TOOL_JVM,
            f"-Dlog4j2.configurationFile={self.log4j}",
            "-cp",
            f"{libs}/*",
            "kafka.tools.StorageTool",
            *args,
        ]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)
        except subprocess.TimeoutExpired as error:
            raise RuntimeError(f"StorageTool {args[0]} hung; see {self.log}") from error
        if result.returncode != 0:
            # Not its arguments: they may hold passwords.
            raise RuntimeError(
                f"StorageTool {args[0]} failed ({result.returncode}): "
                f"{result.stdout}{result.stderr}; see {self.log}"
            )
        return result.stdout

    def _admin_login(self) -> dict[str, str]:
        if self.scram_users is None:
            return {}
        return scram_login("admin", self.scram_users["admin"])
