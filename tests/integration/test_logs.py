"""Logs of the real processes: one command's lines in the API's, the handler's and the
projector's logs are JSON with its trace and correlation ids, and `ostock logs` merges
them; `ostock logs -f` follows files as they grow and as they appear."""

import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from queue import Empty, Queue
from typing import IO, Any
from uuid import uuid4

import httpx
import orjson
import pytest

from ostock.infra.ports import free_port
from ostock.settings import Settings, settings_env
from tests.auth import bearer
from tests.processes import Worker, running_system
from tests.records import ACME

pytestmark = pytest.mark.integration

MINE = ("api", "organization-projector")


@pytest.fixture
def debug_settings(system_settings: Settings, tmp_path: Path) -> Settings:
    """An API and a projector of their own (a port, a key prefix and so a consumer group),
    logging at DEBUG into tmp_path/logs, as `ostock run` lays logs out."""
    return system_settings.model_copy(
        update={
            "api_port": free_port(),
            "redis_prefix": f"test-{uuid4().hex[:8]}",
            "data_dir": tmp_path,
            "log_level": "DEBUG",
        }
    )


@pytest.fixture
def logs(system: dict[str, Worker], debug_settings: Settings) -> Iterator[Path]:
    """The log folder of this API and projector, beside the system's organization handler's
    log (the one handler of the session: a second would share its consumer group)."""
    folder = debug_settings.data_dir / "logs"
    folder.mkdir()
    (folder / "organization-handler.log").symlink_to(system["organization-handler"].log)
    with running_system(debug_settings, folder, processes=MINE):
        yield folder


def test_a_commands_lines_carry_its_trace_in_every_process_and_merge_in_time_order(
    logs: Path, debug_settings: Settings
) -> None:
    trace_id, correlation_id = secrets.token_hex(16), f"logs-{uuid4()}"
    headers = {
        "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01",
        "X-Correlation-ID": correlation_id,
        **bearer(debug_settings, "admin"),
    }
    base = f"http://127.0.0.1:{debug_settings.api_port}"
    response = httpx.post(f"{base}/v1/organizations", json=ACME, headers=headers, timeout=10)
    assert response.status_code == 202, response.text
    command_id = response.json()["command_id"]

    about = _wait_for_lines(logs, trace_id, ("api", "organization-handler", *MINE[1:]))
    for service, lines in about.items():
        for line in lines:
            assert (line["service"], line["trace_id"]) == (service, trace_id), line
            assert line["correlation_id"] == correlation_id, line
            assert {"time", "level", "logger", "message", "topic"} <= line.keys(), line
    assert any(command_id in line["message"] for line in about["api"])
    decided = [line for line in about["organization-handler"] if command_id in line["message"]]
    assert decided and "accepted" in decided[0]["message"]
    assert decided[0]["topic"] == debug_settings.topics.organization_commands
    applied = about["organization-projector"][0]
    assert applied["topic"] == debug_settings.topics.organization_events
    assert isinstance(applied["partition"], int) and isinstance(applied["offset"], int)
    for name in MINE:  # every line, uvicorn's, faust's, aiokafka's, librdkafka's: JSON
        for text in (logs / f"{name}.log").read_text().splitlines():
            assert orjson.loads(text)["service"] == name

    shown = _ostock_logs(debug_settings, "--trace", trace_id, "--json").splitlines()
    merged = [orjson.loads(text) for text in shown]
    assert {line["service"] for line in merged} == {"api", "organization-handler", *MINE[1:]}
    times = [line["time"] for line in merged]
    assert times == sorted(times)
    assert len(merged) == sum(len(lines) for lines in about.values())
    readable = _ostock_logs(debug_settings, "--correlation-id", correlation_id, "--service", "api")
    assert readable.splitlines() and all(
        text.split()[1] == "api" and f"trace_id={trace_id}" in text
        for text in readable.splitlines()
    )


def test_follow_shows_lines_as_files_grow_and_appear(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    first = folder / "api.log"
    first.write_text('{"time":"2025-01-31T12:00:00.000Z","level":"info","message":"one"}\n')
    env = settings_env(Settings(data_dir=tmp_path))
    follow = subprocess.Popen(
        [sys.executable, "-m", "ostock", "logs", "-f"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out: Queue[str] = Queue()
    assert follow.stdout is not None
    threading.Thread(target=_pump, args=(follow.stdout, out), daemon=True).start()
    try:
        assert "one" in _next_line(out)
        with first.open("a") as log:
            log.write('{"time":"2025-01-31T12:00:01.000Z","level":"info","mess')
            log.flush()
            time.sleep(0.6)  # a line half written is not shown yet
            log.write('age":"two"}\n')
        assert _next_line(out).split()[:4] == ["2025-01-31T12:00:01.000Z", "api", "info", "two"]
        (folder / "organization-handler.log").write_text("a JVM line, no time\n")
        assert _next_line(out).split() == [
            "organization-handler",
            "a",
            "JVM",
            "line,",
            "no",
            "time",
        ]
    finally:
        follow.terminate()
        follow.wait(10)


def _pump(lines: IO[str], out: "Queue[str]") -> None:
    for line in lines:
        out.put(line)


def _next_line(out: "Queue[str]") -> str:
    try:
        return out.get(timeout=20)
    except Empty:
        raise AssertionError("ostock logs -f showed nothing in 20s") from None


def _wait_for_lines(
    folder: Path, trace_id: str, services: tuple[str, ...]
) -> dict[str, list[dict[str, Any]]]:
    """Each service's lines that name `trace_id`, once every service has one; each must
    be JSON."""
    deadline = time.monotonic() + 60
    while True:
        about = {
            service: _lines_naming(folder / f"{service}.log", trace_id) for service in services
        }
        if all(about.values()):
            return about
        missing = [service for service, lines in about.items() if not lines]
        assert time.monotonic() < deadline, f"no line of trace {trace_id} in {missing}"
        time.sleep(0.2)


def _lines_naming(log: Path, text: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in log.read_text().splitlines() if text in line]


def _ostock_logs(settings: Settings, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "ostock", "logs", *args],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
