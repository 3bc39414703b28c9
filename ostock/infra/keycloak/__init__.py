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
from pathlib import Path

import httpx

from ostock.infra.maven import pom_property, resolve
from ostock.infra.process import HttpService, Launch, PidFile

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


class KeycloakServer(HttpService):
    """One local Keycloak in development mode: its copy of the distribution, H2 data and log
    under `data_dir`/keycloak."""

    name = "Keycloak"
    start_timeout_s = START_TIMEOUT_S
    stop_timeout_s = STOP_TIMEOUT_S
    progress_s = PROGRESS_S

    def __init__(self, data_dir: Path, cache_dir: Path, port: int) -> None:
        folder = data_dir / "keycloak"
        self.cache_dir = cache_dir
        self.home = folder / f"keycloak-{keycloak_version()}"
        # kc.sh's command line names its own path, unique to this data folder.
        pidfile = PidFile(folder / "keycloak.pid", token=str(self.home))
        super().__init__(folder, port, pidfile, folder / "keycloak.log")

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

    def _prepare(self) -> Launch:
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
        print(f"starting Keycloak on {self.url} (up to {self.start_timeout_s:.0f}s)...", flush=True)
        return Launch(command, environment)

    def _ready(self) -> bool:
        # Ready once it serves the realm.
        try:
            response = httpx.get(
                f"{self.issuer}/.well-known/openid-configuration", timeout=PROBE_TIMEOUT_S
            )
        except httpx.HTTPError:
            return False
        return response.status_code == 200
