"""Start, find and stop a local service's process through its pid file.

LocalService is the lifecycle every local service shares (reuse the running
process, spawn, wait until ready, stop and reap); a service says only what is
its own: what it installs and writes, its command line, its readiness probe.

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
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

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


def with_progress(name: str, ready: Callable[[], bool], every_s: float) -> Callable[[], bool]:
    """`ready`, printing every `every_s` seconds that `name` is still starting."""
    start = last = time.monotonic()

    def probe() -> bool:
        nonlocal last
        if time.monotonic() - last >= every_s:
            last = time.monotonic()
            print(f"{name} still starting ({last - start:.0f}s)...", flush=True)
        return ready()

    return probe


@dataclass(frozen=True)
class Launch:
    """How to run a service's process: its command line and, when given, its whole
    environment."""

    command: list[str]
    env: Mapping[str, str] | None = None


class LocalService(ABC):
    """One local service run as a process of its own, listening on 127.0.0.1:`port`, its
    files in `folder`; `console` receives the process's output (its `log` by default).

    Subclasses name the service and its timeouts, and implement `_prepare` and `_ready`.
    """

    name: ClassVar[str]  # as the printed messages name it
    start_timeout_s: ClassVar[float]
    stop_timeout_s: ClassVar[float]
    progress_s: ClassVar[float | None] = None  # print that it is still starting this often

    def __init__(
        self, folder: Path, port: int, pidfile: PidFile, log: Path, console: Path | None = None
    ) -> None:
        self.dir = folder
        self.port = port
        self.pidfile = pidfile
        self.log = log
        self.console = console or log
        self._process: subprocess.Popen[bytes] | None = None
        self._launched_at: float | None = None  # when launch() spawned it, if it did

    @property
    def address(self) -> str:
        """host:port, where it listens."""
        return f"127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        """Where the printed messages say it listens: its address unless said otherwise."""
        return self.address

    def pid(self) -> int | None:
        """The service's pid, or None when it does not run."""
        return self.pidfile.pid()

    def start(self) -> None:
        """Start the service, or reuse the running one, and wait until it is ready."""
        self.launch()
        self.await_ready()

    def launch(self) -> None:
        """Spawn the service's process unless it runs already, without waiting for it to
        serve: services that need each other to be ready (a quorum) launch all first."""
        self._launched_at = None
        pid = self.pid()
        if pid is not None:
            print(f"{self.name} already running (pid {pid}) on {self.endpoint}", flush=True)
            return
        launch = self._prepare()
        self._launched_at = time.monotonic()
        self._process = spawn(launch.command, self.console, self.pidfile, launch.env)

    def await_ready(self) -> None:
        """Wait until the launched (or reused) service is ready."""
        self._wait_ready()
        if self._launched_at is not None:
            elapsed = time.monotonic() - self._launched_at
            print(f"{self.name} ready on {self.endpoint} in {elapsed:.1f}s", flush=True)

    def stop(self) -> None:
        """Stop the service (SIGTERM, SIGKILL after a bound); a no-op when it does not run."""
        if self.pid() is None:
            print(f"{self.name} is not running", flush=True)
        elif terminate(self.pidfile, self.stop_timeout_s):
            print(f"{self.name} stopped", flush=True)
        else:
            message = f"did not stop within {self.stop_timeout_s:.0f}s and was killed"
            print(f"{self.name} {message}", flush=True)
        if self._process is not None:  # reap our child
            self._process.wait(timeout=self.stop_timeout_s)
            self._process = None

    @abstractmethod
    def _prepare(self) -> Launch:
        """Install what is missing and write the files the process reads; return how to run
        it."""

    @abstractmethod
    def _ready(self) -> bool:
        """Whether the running process serves."""

    def _wait_ready(self) -> float:
        ready = self._ready
        if self.progress_s is not None:
            ready = with_progress(self.name, ready, self.progress_s)
        logs = list(dict.fromkeys([self.log, self.console]))
        return wait_ready(self.name, ready, self.pidfile, logs, self.start_timeout_s)


class HttpService(LocalService, ABC):
    """A LocalService answering HTTP on its port: the printed messages give its URL."""

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://{self.address}"

    @property
    def endpoint(self) -> str:
        return self.url
