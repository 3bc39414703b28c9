"""Start, find and stop a local service's process through its pid file.

The pid file lets `ostock infra down` stop what `ostock infra up` started from
another process. A pid is taken as ours only if the process's command line
still holds `token` (a path unique to the service's data folder), so a stale
pid file never makes us signal an unrelated process that reused the pid.
"""

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

POLL_S = 0.1
KILL_WAIT_S = 10.0
EXEC_WAIT_S = 5.0


@dataclass(frozen=True)
class PidFile:
    """Where a service keeps its pid, and the token that identifies its process."""

    path: Path
    token: str

    def pid(self) -> int | None:
        """The pid of the running service, or None when it does not run."""
        try:
            pid = int(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _runs(pid, self.token) else None


def _runs(pid: int, token: str) -> bool:
    # A zombie's cmdline is empty, so an exited child we have not reaped yet
    # counts as stopped.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return token.encode() in cmdline


def spawn(
    cmd: list[str], log: Path, pidfile: PidFile, env: Mapping[str, str] | None = None
) -> "subprocess.Popen[bytes]":
    """Start `cmd` in its own session with output appended to `log`; record its pid.

    `env` replaces the environment when given.

    Its own session keeps a Ctrl-C in the starting terminal from reaching it,
    so `ostock infra up` can return and leave the service running.
    """
    with log.open("ab") as out:
        process = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    # Popen returns once exec has begun, a moment before /proc shows the new
    # command line; wait for it so the pid file is taken as ours at once.
    deadline = time.monotonic() + EXEC_WAIT_S
    while not _runs(process.pid, pidfile.token) and process.poll() is None:
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    pidfile.path.write_text(str(process.pid))
    return process


def terminate(pidfile: PidFile, timeout_s: float) -> bool:
    """Stop the service: SIGTERM, then SIGKILL if it still runs after `timeout_s`.

    Returns False if it had to be killed; raises if even SIGKILL did not end it.
    """
    graceful = True
    pid = pidfile.pid()
    if pid is not None:
        _signal(pid, signal.SIGTERM)
        if not _wait_gone(pidfile, timeout_s):
            graceful = False
            _signal(pid, signal.SIGKILL)
            if not _wait_gone(pidfile, KILL_WAIT_S):
                raise RuntimeError(f"process {pid} survived SIGKILL")
    pidfile.path.unlink(missing_ok=True)
    return graceful


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # it exited on its own meanwhile
        os.kill(pid, sig)


def _wait_gone(pidfile: PidFile, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while pidfile.pid() is not None:
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_S)
    return True


def wait_ready(
    name: str, ready: Callable[[], bool], pidfile: PidFile, logs: Sequence[Path], timeout_s: float
) -> float:
    """Poll `ready` until it holds and return the seconds it took.

    Fails at once if the process exits, and after `timeout_s` otherwise; both
    errors name the logs to read.
    """
    start = time.monotonic()
    where = ", ".join(str(log) for log in logs)
    while not ready():
        if pidfile.pid() is None:
            raise RuntimeError(f"{name} exited while starting; see {where}")
        if time.monotonic() - start > timeout_s:
            raise TimeoutError(f"{name} not ready after {timeout_s:.0f}s; see {where}")
        time.sleep(POLL_S)
    return time.monotonic() - start
