"""Apache Kafka 4.x as local KRaft nodes (each broker + controller) run from the Maven jars:
one node (KafkaBroker) or a cluster of them (ostock.infra.kafka_cluster).

The jars are resolved once by Maven into the cache folder (pom.xml beside this
file pins the version); every later start runs offline.
"""

import hashlib
import subprocess
from collections.abc import Mapping
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from ostock.infra.kafka_properties import Quorum, log4j_properties, server_properties
from ostock.infra.maven import pom_property, require, resolve
from ostock.infra.ports import is_listening
from ostock.infra.process import Launch, LocalService, PidFile
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


class KafkaBroker(LocalService):
    """One local KRaft node: its config, storage, process and logs under `folder`."""

    name = "Kafka"
    start_timeout_s = START_TIMEOUT_S
    stop_timeout_s = STOP_TIMEOUT_S

    def __init__(
        self,
        folder: Path,
        cache_dir: Path,
        port: int,
        quorum: Quorum,
        scram_users: Mapping[str, str] | None = None,
        node_id: int = 1,
        cluster_id_file: Path | None = None,
    ) -> None:
        """Node `node_id` of `quorum`, serving clients on `port`; its storage is formatted
        once with the cluster id kept in `cluster_id_file` (every node of a cluster shares
        it; default: one in `folder`). `scram_users` (name: password, with "broker" and
        "admin" among them) selects the production profile: SCRAM-SHA-512 logins and ACLs
        instead of PLAINTEXT."""
        self.cache_dir = cache_dir
        self.node_id = node_id
        self.quorum = quorum
        self.controller_port = quorum.voters[node_id]
        self.cluster_id_file = cluster_id_file or folder / "cluster.id"
        self.data = folder / "data"
        self.properties = folder / "server.properties"
        self.log4j = folder / "log4j2.properties"
        # JVM output: the only trace of a failure before log4j starts.
        self.console_log = folder / "console.log"
        self.scram_users = scram_users
        pidfile = PidFile(folder / "kafka.pid", token=str(self.properties))
        super().__init__(folder, port, pidfile, folder / "server.log", self.console_log)

    @classmethod
    def single(
        cls,
        data_dir: Path,
        cache_dir: Path,
        port: int,
        controller_port: int,
        scram_users: Mapping[str, str] | None = None,
    ) -> "KafkaBroker":
        """The one-node cluster of `ostock infra up`, under `data_dir`/kafka."""
        return cls(data_dir / "kafka", cache_dir, port, Quorum({1: controller_port}), scram_users)

    @property
    def nodes(self) -> list["KafkaBroker"]:
        """Its nodes, as KafkaCluster's: itself."""
        return [self]

    @property
    def bootstrap(self) -> str:
        """The bootstrap servers string clients connect to."""
        return self.address

    def _prepare(self) -> Launch:
        libs = ensure_jars(self.cache_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        # The secured profile's file holds the node's own passwords: owner only.
        self.properties.touch(mode=0o600)
        self.properties.chmod(0o600)
        self.properties.write_text(
            server_properties(self.node_id, self.port, self.quorum, self.data, self.scram_users)
        )
        self.log4j.write_text(log4j_properties(self.log))
        self._format_storage(libs)
        return Launch(
            [
                require("java"),
                *BROKER_JVM,
                f"-Dlog4j2.configurationFile={self.log4j}",
                "-cp",
                f"{libs}/*",
                "kafka.Kafka",
                str(self.properties),
            ]
        )

    def _ready(self) -> bool:
        # Ready once it serves metadata that shows every node of the quorum. A port check
        # first keeps librdkafka from logging connection errors while the JVM boots.
        if not is_listening(self.port):
            return False
        admin = AdminClient({"bootstrap.servers": self.bootstrap, **self._admin_login()})
        try:
            metadata = admin.list_topics(timeout=METADATA_TIMEOUT_S)
        except KafkaException:
            return False
        return len(metadata.brokers) >= len(self.quorum.voters)

    def _format_storage(self, libs: Path) -> None:
        if (self.data / "meta.properties").exists():
            return  # formatted before: formatting again would refuse, and data must survive
        print(f"formatting Kafka node {self.node_id}'s storage (first start only)...", flush=True)
        cluster_id = self._cluster_id(libs)
        scram = [
            argument
            for name, password in (self.scram_users or {}).items()
            for argument in ("--add-scram", f"{SCRAM_MECHANISM}=[name={name},password={password}]")
        ]
        self._storage_tool(libs, "format", "-t", cluster_id, "-c", str(self.properties), *scram)

    def _cluster_id(self, libs: Path) -> str:
        """The cluster's id, made on the first node's first start and kept for the others."""
        if self.cluster_id_file.exists():
            return self.cluster_id_file.read_text().strip()
        cluster_id = self._storage_tool(libs, "random-uuid").split()[-1]
        self.cluster_id_file.write_text(cluster_id)
        return cluster_id

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
