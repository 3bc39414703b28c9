"""Resolve artifacts with Maven into the cache folder, once per machine."""

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from xml.etree import ElementTree

MAVEN_TIMEOUT_S = 900.0


def pom_property(pom: Path, name: str) -> str:
    """The value of `<properties><name>` in `pom`, the one place a version is written."""
    namespace = {"m": "http://maven.apache.org/POM/4.0.0"}
    value = ElementTree.parse(pom).findtext(f"m:properties/m:{name}", namespaces=namespace)
    if not value:
        raise RuntimeError(f"no <{name}> property in {pom}")
    return value


def resolve(
    what: str, pom: Path, goal: Sequence[str], target: Path, log: Path, within: str = ""
) -> Path:
    """Return `target`, resolving `what` into it first if missing: `mvn goal` writes into a
    staging folder (-DoutputDirectory) whose `within` part is renamed to `target` at the end,
    so an interrupted run never leaves a half-filled `target` that later starts would trust."""
    if target.is_dir():
        return target
    print(f"resolving {what} with Maven (first run only; log {log})...", flush=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}-", dir=target.parent))
    command = [require("mvn"), "-B", "-f", str(pom), *goal, f"-DoutputDirectory={staging}"]
    try:
        with log.open("wb") as out:
            subprocess.run(
                command, stdout=out, stderr=subprocess.STDOUT, timeout=MAVEN_TIMEOUT_S, check=True
            )
        (staging / within).rename(target)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        raise RuntimeError(f"Maven could not resolve {what}; see {log}") from error
    except OSError:  # another process finished first: its copy is as good
        if not target.is_dir():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def require(program: str) -> str:
    """The path of `program` on PATH; raises naming what the local infrastructure needs."""
    path = shutil.which(program)
    if path is None:
        raise RuntimeError(f"{program} not found on PATH; the local services need Java and Maven")
    return path
