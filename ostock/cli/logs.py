"""`ostock logs`: the local processes' logs (settings.data_dir/logs/<process>.log, written
by `ostock run`) merged by time, filtered, shown or followed (ostock.log_lines)."""

import os
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, BinaryIO

import typer

from ostock.log_lines import EARLIEST, LogFilter, LogLine, lines_of, merge, render, since
from ostock.settings import Settings

#: How often `--follow` looks for new lines and new files.
FOLLOW_POLL_S = 0.25


def logs(
    trace: Annotated[
        str | None, typer.Option("--trace", metavar="ID", help="Only lines of this trace id.")
    ] = None,
    correlation_id: Annotated[
        str | None, typer.Option(metavar="ID", help="Only lines of this correlation id.")
    ] = None,
    service: Annotated[
        list[str] | None,
        typer.Option(metavar="S", help="Only this process's log (repeatable), e.g. api."),
    ] = None,
    since_: Annotated[
        str | None,
        typer.Option(
            "--since", metavar="WHEN", help="Only lines since: 90s, 10m, 2h, 1d or an ISO time."
        ),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep showing lines as the logs grow.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The lines as written.")] = False,
) -> None:
    """The processes' logs merged by time: time, service, level, message, then the ids
    (trace, correlation, topic[partition]@offset). Lines that are not JSON are shown too."""
    settings = Settings()
    try:
        moment = since(since_, datetime.now(UTC)) if since_ else None
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--since") from error
    wanted = LogFilter(trace, correlation_id, frozenset(service or ()), moment)
    folder = settings.data_dir / "logs"
    tails: dict[Path, _Tail] = {}
    try:
        _open_new(folder, wanted, tails)
        if not tails and not follow:
            typer.echo(f"no logs in {folder} (`ostock run` writes them)", err=True)
        _show(merge(tail.lines(wait_for_end=follow) for tail in tails.values()), wanted, as_json)
        while follow:
            time.sleep(FOLLOW_POLL_S)
            _open_new(folder, wanted, tails)
            _show(merge(tail.lines(wait_for_end=True) for tail in tails.values()), wanted, as_json)
    except KeyboardInterrupt:
        pass
    finally:
        for tail in tails.values():
            tail.file.close()


class _Tail:
    """One log file, read as it grows."""

    def __init__(self, path: Path) -> None:
        self.service = path.stem
        self.file: BinaryIO = path.open("rb")
        self.at = EARLIEST  # the time of the last line read
        self._partial = b""

    def lines(self, wait_for_end: bool) -> Iterator[LogLine]:
        """The lines written since the last call; an unfinished last line only unless
        `wait_for_end` (another call will have the rest of it)."""
        if os.fstat(self.file.fileno()).st_size < self.file.tell():  # truncated: start over
            self.file.seek(0)
            self._partial = b""
        for line in lines_of(self.service, self._texts(wait_for_end), self.at):
            self.at = line.at
            yield line

    def _texts(self, wait_for_end: bool) -> Iterable[str]:
        for raw in self.file:
            raw, self._partial = self._partial + raw, b""
            if not raw.endswith(b"\n") and wait_for_end:
                self._partial = raw
                return
            yield raw.decode(errors="replace")


def _open_new(folder: Path, wanted: LogFilter, tails: dict[Path, _Tail]) -> None:
    """Open the log files of `folder` not open yet (a process may start later)."""
    for path in sorted(folder.glob("*.log")):
        if path not in tails and wanted.reads(path.stem):
            tails[path] = _Tail(path)


def _show(lines: Iterable[LogLine], wanted: LogFilter, as_json: bool) -> None:
    for line in lines:
        if wanted.keeps(line):
            typer.echo(line.text if as_json else render(line))
