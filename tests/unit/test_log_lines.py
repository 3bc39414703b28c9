"""Reading logs back: lines parsed, files merged by time, filtered and shown."""

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from ostock.log_lines import EARLIEST, LogFilter, LogLine, lines_of, merge, parse, render, since

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def json_line(time: str, message: str, **ids: str | int) -> str:
    entry = {"time": time, "level": "info", "service": "s", "logger": "l", "message": message}
    return orjson.dumps(entry | ids).decode() + "\n"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_a_json_line_sorts_by_its_time_and_keeps_its_fields() -> None:
    line = parse("api", json_line("2025-01-31T12:00:00.123Z", "sent", trace_id=TRACE))
    assert line.at == at("2025-01-31T12:00:00.123+00:00")
    assert line.entry is not None and line.entry["trace_id"] == TRACE
    assert not line.text.endswith("\n")


@pytest.mark.parametrize(
    ("text", "when"),
    [
        ("2025-01-31T12:00:00+00:00 ostock run: api exited with 1", "2025-01-31T12:00:00+00:00"),
        ("2025-01-31T12:00:00.5Z started", "2025-01-31T12:00:00.5+00:00"),
        ("%3|1738324800.250|FAIL|rdkafka#producer-1| refused", "2025-01-31T12:00:00.25+00:00"),
    ],
)
def test_a_plain_line_keeps_the_time_it_starts_with(text: str, when: str) -> None:
    line = parse("api", text)
    assert line.entry is None
    assert line.at == at(when)


def test_a_time_without_a_zone_is_local() -> None:
    line = parse("kafka", "[2025-01-31 12:00:00,250] INFO started (kafka.server)")
    assert line.at == datetime(2025, 1, 31, 12, 0, 0, 250000).astimezone()


def test_a_line_without_a_time_takes_its_predecessors() -> None:
    texts = [
        "Traceback before logging was set up",
        json_line("2025-01-31T12:00:01.000Z", "first"),
        "  File x, line 1",
        '{"not": "a log line"',
    ]
    got = list(lines_of("api", texts))
    assert [line.at for line in got] == [EARLIEST] + [at("2025-01-31T12:00:01+00:00")] * 3
    assert [line.entry is None for line in got] == [True, False, True, True]


def test_files_merge_in_time_order_plain_lines_after_their_neighbour() -> None:
    api = lines_of(
        "api",
        [
            json_line("2025-01-31T12:00:00.100Z", "a1"),
            json_line("2025-01-31T12:00:00.400Z", "a2"),
            "a2's continuation",
        ],
    )
    handler = lines_of(
        "handler",
        [
            json_line("2025-01-31T12:00:00.200Z", "h1"),
            json_line("2025-01-31T12:00:00.500Z", "h2"),
        ],
    )
    merged = [(line.service, _message(line)) for line in merge([api, handler])]
    assert merged == [
        ("api", "a1"),
        ("handler", "h1"),
        ("api", "a2"),
        ("api", "a2's continuation"),
        ("handler", "h2"),
    ]


def _message(line: LogLine) -> str:
    return str(line.entry["message"]) if line.entry else line.text


def test_the_filter_keeps_the_lines_of_the_ids_given() -> None:
    lines = list(
        lines_of(
            "api",
            [
                json_line("2025-01-31T12:00:00.000Z", "mine", trace_id=TRACE, correlation_id="c1"),
                json_line("2025-01-31T12:00:00.000Z", "other trace", trace_id="0" * 31 + "1"),
                json_line("2025-01-31T12:00:00.000Z", "no ids"),
                f"2025-01-31T12:00:00Z plain line naming {TRACE}",
                "2025-01-31T12:00:00Z plain line naming nothing",
            ],
        )
    )
    kept = [_message(line) for line in lines if LogFilter(trace_id=TRACE.upper()).keeps(line)]
    assert kept == ["mine", f"2025-01-31T12:00:00Z plain line naming {TRACE}"]
    both = LogFilter(trace_id=TRACE, correlation_id="c2")
    assert not any(both.keeps(line) for line in lines)
    assert all(LogFilter().keeps(line) for line in lines)


def test_the_filter_keeps_lines_since_a_time_and_reads_the_services_named() -> None:
    early, late = (parse("api", json_line(f"2025-01-31T12:00:0{s}.000Z", "m")) for s in (0, 5))
    recent = LogFilter(since=at("2025-01-31T12:00:03+00:00"))
    assert (recent.keeps(early), recent.keeps(late)) == (False, True)
    chosen = LogFilter(services=frozenset({"api", "organization-handler"}))
    assert [chosen.reads(s) for s in ("api", "organization-handler", "saga")] == [
        True,
        True,
        False,
    ]
    assert LogFilter().reads("anything")


def test_since_is_an_age_or_a_time() -> None:
    now = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)
    assert since("90s", now) == now - timedelta(seconds=90)
    assert since("10m", now) == now - timedelta(minutes=10)
    assert since("1.5h", now) == now - timedelta(minutes=90)
    assert since("2d", now) == now - timedelta(days=2)
    assert since("2025-01-30T08:00:00", now) == datetime(2025, 1, 30, 8, tzinfo=UTC)
    assert since("2025-01-30T08:00:00+01:00", now) == datetime(2025, 1, 30, 7, tzinfo=UTC)
    with pytest.raises(ValueError):
        since("yesterday", now)


def test_a_line_renders_with_its_ids_and_exception() -> None:
    entry = {
        "time": "2025-01-31T12:00:00.123Z",
        "level": "error",
        "service": "organization-handler",
        "logger": "l",
        "message": "failed",
        "topic": "ostock.organization.commands",
        "partition": 2,
        "offset": 17,
        "correlation_id": "c1",
        "trace_id": TRACE,
        "exception": "Traceback\nValueError: x",
    }
    text = orjson.dumps(entry).decode()
    shown = render(parse("organization-handler", text))
    assert shown.splitlines() == [
        "2025-01-31T12:00:00.123Z organization-handler     error   failed"
        f"  trace_id={TRACE} correlation_id=c1 ostock.organization.commands[2]@17",
        "    Traceback",
        "    ValueError: x",
    ]
    assert render(parse("api", "plain text")) == "api" + " " * 22 + "plain text"
