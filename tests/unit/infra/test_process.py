"""The lifecycle every local service shares (ostock.infra.process.LocalService), driven
with a small Python program as the service's real process."""

import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ostock.infra.ports import free_port, is_listening
from ostock.infra.process import Launch, LocalService, PidFile

LISTEN = """
import socket, sys, time
server = socket.create_server(("127.0.0.1", int(sys.argv[1])))
time.sleep(600)
"""
IGNORES_SIGTERM = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" + LISTEN
SLOW = "import time; time.sleep(1)\n" + LISTEN
EXITS = "raise SystemExit(3)"


class Toy(LocalService):
    """A service that runs `program` with its port and folder as arguments; ready once it
    listens."""

    name = "Toy"
    start_timeout_s = 20.0
    stop_timeout_s = 1.0

    def __init__(self, folder: Path, port: int, program: str = LISTEN) -> None:
        self.program = program
        super().__init__(folder, port, PidFile(folder / "toy.pid", str(folder)), folder / "toy.log")

    def _prepare(self) -> Launch:
        self.dir.mkdir(parents=True, exist_ok=True)
        return Launch([sys.executable, "-c", self.program, str(self.port), str(self.dir)])

    def _ready(self) -> bool:
        return is_listening(self.port)


class Reporting(Toy):
    """A Toy that says often that it is still starting."""

    progress_s = 0.2


Make = Callable[..., Toy]


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Make]:
    """Makes the test's services, in one folder (`kind`, `program`, a port: free by default);
    stops them at its end whatever it left running."""
    made: list[Toy] = []

    def new(kind: type[Toy] = Toy, program: str = LISTEN, port: int | None = None) -> Toy:
        made.append(kind(tmp_path / "toy", port or free_port(), program))
        return made[-1]

    yield new
    for service in made:
        service.stop()


def test_start_waits_until_ready_and_stop_ends_and_reaps_the_process(
    make: Make, capsys: pytest.CaptureFixture[str]
) -> None:
    toy = make()

    toy.start()
    pid = toy.pid()
    assert pid is not None and is_listening(toy.port)
    toy.stop()

    out = capsys.readouterr().out
    assert re.fullmatch(rf"Toy ready on 127\.0\.0\.1:{toy.port} in \d+\.\ds\nToy stopped\n", out)
    assert toy.pid() is None and not toy.pidfile.path.exists()
    assert not Path(f"/proc/{pid}").exists()  # reaped: no zombie left


def test_launch_returns_at_once_and_await_ready_waits_for_the_service(
    make: Make, capsys: pytest.CaptureFixture[str]
) -> None:
    slow = make(program=SLOW)

    slow.launch()  # the nodes of a quorum are all launched before any is waited for
    assert slow.pid() is not None and not is_listening(slow.port)
    slow.await_ready()

    assert is_listening(slow.port)
    out = capsys.readouterr().out
    assert re.fullmatch(rf"Toy ready on 127\.0\.0\.1:{slow.port} in \d+\.\ds\n", out)


def test_a_second_start_reuses_the_running_process_and_any_instance_stops_it(
    make: Make, capsys: pytest.CaptureFixture[str]
) -> None:
    first = make()
    second = make(port=first.port)
    first.start()
    pid = first.pid()
    capsys.readouterr()

    second.start()
    second.stop()
    first.stop()

    assert capsys.readouterr().out.splitlines() == [
        f"Toy already running (pid {pid}) on 127.0.0.1:{first.port}",
        "Toy stopped",
        "Toy is not running",
    ]
    assert not Path(f"/proc/{pid}").exists()


def test_a_process_that_ignores_sigterm_is_killed_after_the_stop_timeout(
    make: Make, capsys: pytest.CaptureFixture[str]
) -> None:
    toy = make(program=IGNORES_SIGTERM)
    toy.start()
    capsys.readouterr()

    toy.stop()

    assert capsys.readouterr().out == "Toy did not stop within 1s and was killed\n"
    assert toy.pid() is None


def test_a_process_that_exits_while_starting_fails_naming_its_log(make: Make) -> None:
    toy = make(program=EXITS)

    with pytest.raises(RuntimeError, match=f"Toy exited while starting; see {toy.log}"):
        toy.start()


def test_a_slow_start_is_reported_while_it_lasts(
    make: Make, capsys: pytest.CaptureFixture[str]
) -> None:
    make(Reporting, SLOW).start()

    assert re.search(r"^Toy still starting \(\d+s\)\.\.\.$", capsys.readouterr().out, re.M)
