"""Reading the processes' logs back (`ostock logs`): each line parsed, the files merged by
time, filtered by trace, correlation id, service and time, and shown.

A JSON line (ostock.logs) carries its time and fields. Any other line (a JVM's, `ostock
run`'s own, a traceback printed before logging was set up) is kept as text, with the time
it starts with if it has one in a known form, else its predecessor's in the same file: it
comes right after that one.
"""

import heapq
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

#: The time of a line before any line with a time.
EARLIEST = datetime.min.replace(tzinfo=UTC)

# ISO 8601 or log4j's "[2025-01-31 12:00:00,123]" at the start of a line.
_STARTS_WITH_TIME = re.compile(
    r"\[?(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?)\]?(?:\s|$)"
)
# librdkafka's own lines: "%7|1738324800.123|FACILITY|...".
_LIBRDKAFKA = re.compile(r"%\d\|(\d+(?:\.\d+)?)\|")
_AGO = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
# Wide enough for every name of ostock.deployables.PROCESSES.
_SERVICE_WIDTH = 24


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of process `service`'s log; `at` is the time it sorts by."""

    service: str
    text: str
    at: datetime
    #: The JSON object of a JSON line; None for any other line.
    entry: dict[str, Any] | None = None


def parse(service: str, text: str, after: datetime = EARLIEST) -> LogLine:
    """Line `text` of `service`'s log, which follows a line of time `after`."""
    text = text.rstrip("\r\n")
    entry = _json(text)
    when = _time_of(entry, text)
    return LogLine(service, text, when or after, entry)


def lines_of(service: str, texts: Iterable[str], after: datetime = EARLIEST) -> Iterator[LogLine]:
    """Every line of one file, each plain line without a time taking its predecessor's."""
    for text in texts:
        line = parse(service, text, after)
        after = line.at
        yield line


def merge(files: Iterable[Iterable[LogLine]]) -> Iterator[LogLine]:
    """The lines of every file in time order; lines of one file with the same time (or
    out of order) stay in their file's order."""
    return heapq.merge(*files, key=lambda line: line.at)


@dataclass(frozen=True)
class LogFilter:
    """Which lines to show; each criterion given must hold."""

    trace_id: str | None = None
    correlation_id: str | None = None
    services: frozenset[str] = frozenset()
    since: datetime | None = None

    def reads(self, service: str) -> bool:
        """Whether the log of `service` is read at all."""
        return not self.services or service in self.services

    def keeps(self, line: LogLine) -> bool:
        """Whether `line`, of a log read, is shown. A plain line carries no ids: an id
        filter keeps it only if its text names the id."""
        if self.since is not None and line.at < self.since:
            return False
        return _has(line, "trace_id", self.trace_id) and _has(
            line, "correlation_id", self.correlation_id
        )


def since(text: str, now: datetime) -> datetime:
    """The moment `--since` names: an age (90s, 10m, 2h, 1d) before `now`, or an ISO 8601
    time (UTC unless it says). ValueError if it is neither."""
    ago = _AGO.fullmatch(text.strip())
    if ago is not None:
        return now - timedelta(**{_UNITS[ago.group(2)]: float(ago.group(1))})
    moment = datetime.fromisoformat(text.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def render(line: LogLine) -> str:
    """`line` for a reader: time, service, level, message, then its ids and exception;
    a plain line as it is, after its service."""
    service = line.service.ljust(_SERVICE_WIDTH)
    entry = line.entry
    if entry is None:
        return f"{service} {line.text}"
    head = f"{entry.get('time', '')} {service} {str(entry.get('level', '')).ljust(7)}"
    parts = [f"{head} {entry.get('message', '')}"]
    ids = [f"{name}={entry[name]}" for name in ("trace_id", "correlation_id") if name in entry]
    if "topic" in entry:
        where = entry["topic"]
        if "partition" in entry:
            where += f"[{entry['partition']}]"
        if "offset" in entry:
            where += f"@{entry['offset']}"
        ids.append(where)
    if ids:
        parts.append("  " + " ".join(ids))
    text = "".join(parts)
    if "exception" in entry:
        text += "\n" + "\n".join("    " + row for row in str(entry["exception"]).splitlines())
    return text


def _json(text: str) -> dict[str, Any] | None:
    if not text.startswith("{"):
        return None
    try:
        entry = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return entry if isinstance(entry, dict) else None


def _time_of(entry: dict[str, Any] | None, text: str) -> datetime | None:
    """The time a line says it was written, as an aware datetime; a time without a zone
    is local (the JVM's, say)."""
    if entry is not None:
        written = entry.get("time")
        return _iso(written) if isinstance(written, str) else None
    if (match := _STARTS_WITH_TIME.match(text)) is not None:
        return _iso(match.group(1).replace(",", "."))
    if (match := _LIBRDKAFKA.match(text)) is not None:
        return datetime.fromtimestamp(float(match.group(1)), UTC)
    return None


def _iso(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.astimezone()


def _has(line: LogLine, name: str, wanted: str | None) -> bool:
    if wanted is None:
        return True
    if line.entry is None:
        return wanted.lower() in line.text.lower()
    return str(line.entry.get(name, "")).lower() == wanted.lower()
