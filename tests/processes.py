"""Running O-stock's deployables as real processes for integration tests."""

import signal
import subprocess
import sys
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ostock.deployables import PROCESSES, instance_env, instances, principal_env
from ostock.settings import Settings, settings_env

READY_TIMEOUT_S = 60.0


@dataclass
class Worker:
    """One `ostock ...` process with its output in a log file."""

    args: list[str]
    settings: Settings
    log: Path
    process: "subprocess.Popen[bytes] | None" = field(default=None)
    #: Environment variables beyond the settings' (one they do not pass on).
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> "Worker":
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ostock", *self.args],
                env=settings_env(self.settings, **self.env),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout_s: float = 20) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, as when a machine dies."""
        self.stop(signal.SIGKILL)

    def pause(self) -> None:
        """SIGSTOP: the process stops answering, as in a long pause of its machine."""
        if self.alive():
            self.send(signal.SIGSTOP)

    def resume(self) -> None:
        if self.alive():
            self.send(signal.SIGCONT)

    def send(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def wait_for(self, text: str, timeout_s: float, times: int = 1) -> None:
        """Until `text` is in the output `times` times; AssertionError after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while self.output().count(text) < times:
            assert self.alive(), f"exited: {self.output()[-3000:]}"
            assert time.monotonic() < deadline, f"no {text!r} in {timeout_s}s"
            time.sleep(0.2)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_system(
    settings: Settings, logs: Path, scale: int = 1, processes: Collection[str] = tuple(PROCESSES)
) -> dict[str, Worker]:
    """The `processes` (default: every one of PROCESSES) as `ostock run --scale` starts
    them (each as its principal, each copy with its instance name and /metrics port), by
    their Instance.label."""
    return {
        i.label: Worker(
            PROCESSES[i.process],
            settings,
            logs / f"{i.label}.log",
            env=principal_env(i.process) | instance_env(settings, i),
        ).start()
        for i in instances(scale)
        if i.process in processes
    }


@contextmanager
def running_system(
    settings: Settings, logs: Path, scale: int = 1, processes: Collection[str] = tuple(PROCESSES)
) -> Iterator[dict[str, Worker]]:
    """The processes of `start_system` once the API is ready; stopped when the block ends."""
    workers = start_system(settings, logs, scale, processes)
    try:
        wait_ready(f"http://127.0.0.1:{settings.api_port}/health/ready", workers)
        yield workers
    finally:
        for worker in workers.values():
            worker.stop()


def wait_ready(url: str, workers: dict[str, Worker], timeout_s: float = READY_TIMEOUT_S) -> None:
    """Until `url` answers 200 (the API's readiness); AssertionError if a worker exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        dead = [name for name, worker in workers.items() if not worker.alive()]
        assert not dead, f"{dead} exited: {workers[dead[0]].output()[-2000:]}"
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} not ready in {timeout_s:.0f}s")
