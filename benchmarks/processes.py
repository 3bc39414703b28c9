"""Child processes of a benchmark: O-stock's workers, servers and the load generator."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from ostock.settings import Settings
from ostock.settings import settings_env as ostock_settings_env

READY_TIMEOUT_S = 60.0


def settings_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a benchmark's child process: `settings`, logging warnings only."""
    return ostock_settings_env(settings, OSTOCK_LOG_LEVEL="WARNING", **extra)


def start(args: list[str], env: dict[str, str], log: Path) -> "subprocess.Popen[bytes]":
    """`python ARGS` with its output in `log`."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def stop(process: "subprocess.Popen[bytes]") -> None:
    """SIGTERM, then SIGKILL after 20 s."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_http(
    url: str, process: "subprocess.Popen[bytes]", log: Path, status: int | None = None
) -> None:
    """Wait until `url` answers at all (any status, or `status` if given), or fail with
    the log's tail."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{process.args!r} exited: {log.read_text(errors='replace')[-2000:]}"
            )
        try:
            answer = httpx.get(url, timeout=1.0)
            if status is None or answer.status_code == status:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer in {READY_TIMEOUT_S} s")


def peak_rss_mib(pid: int) -> float:
    """The peak resident set size of a running process so far (VmHWM), in MiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) a running process has used so far, in seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
