"""`ostock status` from a report built by hand: its problems, exit status, table and JSON."""

import json
import re
from dataclasses import replace
from typing import Any

from rich.console import Console

from ostock.cli.status import OK, UNREACHABLE, UNWELL, exit_status, problems, table, to_json
from ostock.cli.status_report import Letters, ProcessState, Report, ViewState
from ostock.kafka.cluster_health import ClusterHealth
from ostock.kafka.lag import Member, PartitionLag

EVENTS = "ostock.organization.events"
PROJECTOR = Member("faust-0.15.3", "/127.0.0.1", None, ((EVENTS, 0), (EVENTS, 1)))


def report(**changes: Any) -> Report:
    """A healthy system, but for `changes`."""
    base = Report(
        processes=[
            ProcessState(
                "organization-projector", True, "ostock.organization-projector", (PROJECTOR,)
            ),
            ProcessState("api", True, None, ()),
        ],
        lags=[
            PartitionLag("ostock.organization-projector", EVENTS, 0, 10, 11, 0, 0.0),
            PartitionLag("ostock.organization-projector", EVENTS, 1, 5, 9, 4, 2.5),
        ],
        dead_letters={"bad-framing": Letters(3, 1)},
        views=[ViewState("organizations", "g0", "g20260101000000000")],
        snapshots={"before": {"until": "2026-01-01T00:00:00+00:00", "taken_at": "t", "events": 7}},
        cluster=ClusterHealth((1, 2, 3), 3, (), ()),
    )
    return replace(base, **changes)


def rendered(
    found: Report, max_records: int | None = None, max_seconds: float | None = None
) -> str:
    console = Console(width=200, record=True)
    console.print(table(found, max_records, max_seconds))
    return console.export_text()


def test_all_well_within_the_limits() -> None:
    healthy = report()

    found = problems(healthy, max_records=4, max_seconds=3)

    assert found == []
    assert exit_status(healthy, found) == OK


def test_a_consumer_without_members_is_down_though_it_serves() -> None:
    stopped = ProcessState("organization-projector", True, "ostock.organization-projector", ())
    down = report(processes=[stopped])

    found = problems(down, None, None)

    assert found == ["organization-projector is down"]
    assert exit_status(down, found) == UNWELL
    assert "organization-projector" in rendered(down) and "down" in rendered(down)


def test_a_lag_above_either_limit_is_a_problem() -> None:
    by_records = problems(report(), max_records=3, max_seconds=None)
    by_seconds = problems(report(), max_records=None, max_seconds=2)

    line = "ostock.organization-projector lags on ostock.organization.events[1]: 4 records, 2.5 s"
    assert by_records == by_seconds == [line]
    assert "over" in rendered(report(), 3)


def test_kafka_unreachable_is_named_and_exits_2() -> None:
    unknown = ProcessState("organization-projector", False, "ostock.organization-projector", None)
    cut = report(processes=[unknown], lags=[], unreachable={"kafka": "Kafka at k:1: down"})

    found = problems(cut, None, None)

    assert found[0] == "Kafka at k:1: down"
    assert exit_status(cut, found) == UNREACHABLE
    assert "members unknown" in rendered(cut) and "unreachable" in rendered(cut)


def test_the_table_shows_members_lags_letters_views_and_snapshots() -> None:
    text = rendered(report())

    assert f"faust-0.15.3@/127.0.0.1: {EVENTS}[0,1]" in text
    assert "[0] 0 rec 0.0 s, [1] 4 rec 2.5 s" in text
    assert "bad-framing" in text and "1 requeued" in text
    assert "replay building g20260101000000000" in text
    assert "until 2026-01-01T00:00:00+00:00" in text


def test_the_json_holds_what_the_table_shows() -> None:
    found = problems(report(), 3, None)

    parsed = json.loads(json.dumps(to_json(report(), found)))

    assert parsed["ok"] is False and parsed["problems"] == found
    projector = parsed["processes"][0]
    assert projector["up"] is True
    assert projector["members"][0]["partitions"] == [
        {"topic": EVENTS, "partition": 0},
        {"topic": EVENTS, "partition": 1},
    ]
    assert parsed["lags"][1] == {
        "group": "ostock.organization-projector",
        "topic": EVENTS,
        "partition": 1,
        "committed": 5,
        "end": 9,
        "records": 4,
        "seconds": 2.5,
    }
    assert parsed["dead_letters"] == {"bad-framing": {"total": 3, "requeued": 1}}
    assert parsed["views"] == [
        {"model": "organizations", "live": "g0", "building": "g20260101000000000"}
    ]
    assert parsed["snapshots"]["before"]["events"] == 7


def test_a_lost_broker_is_a_problem_and_shows_in_the_brokers_row() -> None:
    short = ClusterHealth((1, 3), 3, (f"{EVENTS}[0]", f"{EVENTS}[2]"), ())
    degraded = report(cluster=short)

    found = problems(degraded, None, None)

    assert found == ["Kafka shows 2 of 3 brokers, 2 partitions under-replicated, 0 offline"]
    assert exit_status(degraded, found) == UNWELL
    text = rendered(degraded)
    assert "2 of 3" in text and "degraded" in text and "ids 1,3" in text
    assert f"2 under-replicated: {EVENTS}[0], {EVENTS}[2]" in text
    assert "3 of 3" in rendered(report()) and "whole" in rendered(report())
    assert to_json(degraded, found)["cluster"]["brokers"] == (1, 3)


def test_a_groups_members_show_once_and_a_dead_copy_is_down() -> None:
    copy = Member("ostock.organization-projector.vm-2", "/127.0.0.1", None, ((EVENTS, 2),))
    members = (PROJECTOR, copy)
    group = "ostock.organization-projector"
    scaled = report(
        processes=[
            ProcessState("organization-projector", True, group, members),
            ProcessState("organization-projector-2", False, group, members),
        ]
    )

    text = rendered(scaled)

    assert problems(scaled, None, None) == ["organization-projector-2 is down"]
    assert text.count("ostock.organization-projector.vm-2@/127.0.0.1") == 1
    assert re.search(r"organization-projector-2 +│ down", text)
