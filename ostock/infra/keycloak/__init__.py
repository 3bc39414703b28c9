"""Keycloak's Quarkus distribution as a local process, with the ostock realm imported.

The distribution is resolved once by Maven into the cache folder (pom.xml beside
this file pins the version); each data folder gets its own copy of it, since
start-dev rebuilds the server in place and keeps its H2 database under data/.
realm-ostock.json beside this file is the realm, for local use only: its
passwords and client secret are public.
"""

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from ostock.infra.maven import pom_property, resolve
from ostock.infra.process import PidFile, spawn, terminate, wait_ready

HERE = Path(__file__).parent
POM = HERE / "pom.xml"
REALM_FILE = HERE / "realm-ostock.json"
REALM = "ostock"
JVM_ROOT = Path("/usr/lib/jvm")
MIN_JAVA = 21
HEAP = "-Xms128m -Xmx512m"
START_TIMEOUT_S = 180.0  # start-dev builds the server first: over a minute on 2 cores
STOP_TIMEOUT_S = 30.0
PROGRESS_S = 15.0
PROBE_TIMEOUT_S = 2.0


def keycloak_version() -> str:
    """The Keycloak version pinned in pom.xml, the one place it is written."""
    return pom_property(POM, "keycloak.version")


def ensure_distribution(cache_dir: Path) -> Path:
    """Return the unpacked distribution's folder, resolving it with Maven on first use."""
    name = f"keycloak-{keycloak_version()}"
    return resolve(
        "the Keycloak distribution",
        POM,
        ["dependency:unpack"],
        cache_dir / name,
        cache_dir / f"{name}.maven.log",
        within=name,
    )


def java_home() -> Path:
    """A JDK of this machine that Keycloak runs on: JAVA_HOME if recent enough, else the
    newest under /usr/lib/jvm."""
    candidates = [Path(os.environ["JAVA_HOME"])] if "JAVA_HOME" in os.environ else []
    candidates += sorted(JVM_ROOT.glob("*/release"), key=_java_major, reverse=True)
    for candidate in candidates:
        home = candidate.parent if candidate.name == "release" else candidate
        if _java_major(home / "release") >= MIN_JAVA and (home / "bin" / "java").exists():
            return home
    raise RuntimeError(f"Keycloak needs a JDK {MIN_JAVA}+; none found in JAVA_HOME or {JVM_ROOT}")


def _java_major(release: Path) -> int:
    try:
        found = re.search(r'^JAVA_VERSION="(\d+)', release.read_text(), re.MULTILINE)
    except OSError:
        return 0
    return int(found.group(1)) if found else 0


class KeycloakServer:
    """One local Keycloak in development mode: its copy of the distribution, H2 data and log
    under `data_dir`/keycloak."""

    def __init__(self, data_dir: Path, cache_dir: Path, port: int) -> None:
        self.dir = data_dir / "keycloak"
        self.cache_dir = cache_dir
        self.port = port
        self.home = self.dir / f"keycloak-{keycloak_version()}"
        self.log = self.dir / "keycloak.log"
        # kc.sh's command line names its own path, unique to this data folder.
        self.pidfile = PidFile(self.dir / "keycloak.pid", token=str(self.home))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        """The realm's issuer, the `iss` of its tokens (settings.auth_issuer)."""
        return f"{self.url}/realms/{REALM}"

    @property
    def jwks_url(self) -> str:
        """The realm's signing keys (settings.auth_jwks_url)."""
        return f"{self.issuer}/protocol/openid-connect/certs"

    @property
    def token_url(self) -> str:
        """Where clients obtain tokens."""
        return f"{self.issuer}/protocol/openid-connect/token"

    def pid(self) -> int | None:
        """The server's pid, or None when it does not run."""
        return self.pidfile.pid()

    def start(self) -> None:
        """Start the server, or reuse the running one, and wait until the realm is served."""
        pid = self.pid()
        if pid is not None:
            print(f"Keycloak already running (pid {pid}) on {self.url}", flush=True)
            self._wait_ready()
            return
        distribution = ensure_distribution(self.cache_dir)
        if not self.home.is_dir():
            shutil.copytree(distribution, self.home, symlinks=True)
        imports = self.home / "data" / "import"
        imports.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REALM_FILE, imports / REALM_FILE.name)
        environment = {**os.environ, "JAVA_HOME": str(java_home()), "JAVA_OPTS_KC_HEAP": HEAP}
        command = [
            str(self.home / "bin" / "kc.sh"),
            "start-dev",
            "--http-host=127.0.0.1",
            f"--http-port={self.port}",
            "--import-realm",
        ]
        print(f"starting Keycloak on {self.url} (up to {START_TIMEOUT_S:.0f}s)...", flush=True)
        self._process = spawn(command, self.log, self.pidfile, environment)
        elapsed = self._wait_ready()
        print(f"Keycloak ready on {self.url} in {elapsed:.1f}s", flush=True)

    def stop(self) -> None:
        """Stop the server (SIGTERM, SIGKILL after a bound); a no-op when it does not run."""
        if self.pid() is None:
            print("Keycloak is not running", flush=True)
        elif terminate(self.pidfile, STOP_TIMEOUT_S):
            print("Keycloak stopped", flush=True)
        else:
            print(f"Keycloak did not stop within {STOP_TIMEOUT_S:.0f}s and was killed", flush=True)
        if self._process is not None:  # reap our child
            self._process.wait(timeout=STOP_TIMEOUT_S)
            self._process = None

    def _wait_ready(self) -> float:
        ready = _with_progress("Keycloak", self._serves_realm)
        return wait_ready("Keycloak", ready, self.pidfile, [self.log], START_TIMEOUT_S)

    def _serves_realm(self) -> bool:
        try:
            response = httpx.get(
                f"{self.issuer}/.well-known/openid-configuration", timeout=PROBE_TIMEOUT_S
            )
        except httpx.HTTPError:
            return False
        return response.status_code == 200


def _with_progress(name: str, ready: Callable[[], bool]) -> Callable[[], bool]:
    """`ready`, printing every PROGRESS_S seconds that `name` is still starting."""
    start = last = time.monotonic()

    def probe() -> bool:
        nonlocal last
        if time.monotonic() - last >= PROGRESS_S:
            last = time.monotonic()
            print(f"{name} still starting ({last - start:.0f}s)...", flush=True)
        return ready()

    return probe
