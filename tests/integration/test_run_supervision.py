"""`ostock run` as a user runs it: a worker that dies is started again, the system goes
on, and Ctrl-C still stops everything."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from ostock.deployables import PROCESSES
from ostock.infra.local import LocalInfra
from ostock.infra.ports import free_port
from ostock.settings import Settings, settings_env
from tests.auth import bearer
from tests.integration.conftest import wait_for_status

pytestmark = pytest.mark.integration

HANDLER = PROCESSES["organization-handler"]


@pytest.fixture
def own_settings(tmp_path: Path) -> Iterator[Settings]:
    """Settings of a system of the test's own: `ostock run` starts its Kafka and Redis
    in a temporary folder on free ports (not the session's, which it would stop)."""
    settings = Settings(
        kafka_bootstrap=f"127.0.0.1:{free_port()}",
        kafka_controller_port=free_port(),
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        api_port=free_port(),
        metrics_port=0,  # each worker's /metrics on a free port, never a default one
        topic_partitions=3,
        data_dir=tmp_path / "data",
        config_dir=tmp_path / "config",
    )
    yield settings
    # Whatever the test left running (it failed half-way): the infrastructure runs in
    # sessions of its own and would outlive the test.
    LocalInfra.from_settings(settings).down()


def test_a_killed_worker_is_started_again_and_ctrl_c_stops_everything(
    own_settings: Settings, tmp_path: Path
) -> None:
    console = tmp_path / "console.log"
    env = settings_env(
        own_settings,
        OSTOCK_KAFKA_CONTROLLER_PORT=str(own_settings.kafka_controller_port),
        PYTHONUNBUFFERED="1",
    )
    with console.open("wb") as out:
        run = subprocess.Popen(
            [sys.executable, "-m", "ostock", "run"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{own_settings.api_port}"

    def wait(what: str, condition: Callable[[], bool], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert run.poll() is None, f"ostock run exited: {console.read_text()[-3000:]}"
            if condition():
                return
            time.sleep(0.2)
        raise AssertionError(f"{what} not within {timeout_s}s: {console.read_text()[-3000:]}")

    try:
        # Kafka's first start formats its storage: slow on a busy machine.
        wait("/health/ready", lambda: _ready(f"{base}/health/ready"), 180)
        [handler] = _children(run.pid, HANDLER)
        os.kill(handler, signal.SIGKILL)

        wait(
            "the restart",
            lambda: (
                "organization-handler exited with -9" in console.read_text()
                and _children(run.pid, HANDLER) not in ([], [handler])
            ),
            30,
        )
        assert "restarting it in 1s" in console.read_text()
        log = own_settings.data_dir / "logs" / "organization-handler.log"
        assert "ostock run: organization-handler exited with -9" in log.read_text()

        with httpx.Client(base_url=base, timeout=10, headers=bearer(own_settings)) as api:
            created = api.post(
                "/v1/organizations",
                json={"name": "Acme", "contact_name": "Ada", "contact_email": "ada@acme.example"},
            )
            assert created.status_code == 202, created.text
            status = wait_for_status(api, created.json()["command_id"], timeout_s=60)
        assert status["status"] == "accepted", status

        children = {pid: _cmdline(pid) for pid in _children(run.pid)}
        run.send_signal(signal.SIGINT)
        assert run.wait(120) == 0, console.read_text()[-3000:]
        assert console.read_text().rstrip().endswith("stopped")
        left = [children[pid] for pid in children if _cmdline(pid) == children[pid]]
        assert not left, left
    finally:
        if run.poll() is None:  # failed half-way; the fixture stops Kafka and Redis
            workers = [pid for pid in _children(run.pid) if _cmdline(pid)[1:3] == ["-m", "ostock"]]
            run.kill()
            run.wait()
            for pid in workers:
                os.kill(pid, signal.SIGKILL)


def _ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _children(pid: int, args: list[str] | None = None) -> list[int]:
    """The pids of `pid`'s children, only those whose command line ends with `args`."""
    pids = [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]
    return [child for child in pids if args is None or _cmdline(child)[-len(args) :] == args]


def _cmdline(pid: int) -> list[str]:
    """Its command line; empty once it is gone (or a zombie)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().split("\0")[:-1]
    except (FileNotFoundError, ProcessLookupError):
        return []
