"""Dead letters as operators see them: ids, filters and the lines of `ostock dlq`."""

from dataclasses import replace

import pytest

from ostock.cli.dlq import as_json, describe, hex_dump
from ostock.kafka import deadletters as dlq
from ostock.kafka.letters import DeadLetter, LetterId, originals, select


def letter(
    offset: int, reason: str, topic: str = "ostock.organization.commands", **extra: str
) -> DeadLetter:
    headers = dlq.dead_letter_headers(
        reason=reason,
        error=f"{reason}: details",
        topic=topic,
        partition=1,
        offset=40 + offset,
        consumer=extra.get("consumer", "ostock.organization-service"),
        original=[("correlation-id", b"c-1"), ("dlq-reason", b"an older death")],
    )
    return DeadLetter(LetterId(0, offset), b"key", b"\x00garbage", headers, extra.get("to"))


def test_an_id_is_partition_and_offset() -> None:
    assert LetterId.parse("2:17") == LetterId(2, 17)
    assert str(LetterId(2, 17)) == "2:17"
    for wrong in ("17", "a:1", "1:", "-1:2", ""):
        with pytest.raises(ValueError, match="partition:offset"):
            LetterId.parse(wrong)


def test_a_letter_knows_its_source_and_its_original_headers() -> None:
    dead = letter(3, "unknown-schema")
    assert dead.reason == "unknown-schema"
    assert dead.source == ("ostock.organization.commands", 1, 43)
    # Only the headers the record arrived with: an earlier death's are not carried.
    assert dead.original_headers == [("correlation-id", b"c-1")]


def test_filters_combine() -> None:
    letters = [
        letter(0, "bad-framing"),
        letter(1, "unknown-schema", to="ostock.organization.commands[1]@99"),
        letter(2, "bad-framing", topic="ostock.license.events", consumer="saga"),
    ]
    assert [d.id.offset for d in select(letters, reason="bad-framing")] == [0, 2]
    assert [d.id.offset for d in select(letters, source_topic="ostock.license.events")] == [2]
    assert [d.id.offset for d in select(letters, consumer="saga", reason="bad-framing")] == [2]
    assert [d.id.offset for d in select(letters, requeued=True)] == [1]
    assert [d.id.offset for d in select(letters, requeued=False)] == [0, 2]


def test_a_requeue_sends_each_original_once_in_its_source_order() -> None:
    later, earlier = letter(5, "handler-error"), letter(1, "unknown-schema")  # sources 45, 41
    twin = replace(earlier, id=LetterId(2, 0))  # another consumer's letter of the same record
    assert [d.id for d in originals([later, twin, earlier])] == [twin.id, later.id]


def test_one_line_per_letter_says_why_whence_and_whether_requeued() -> None:
    line = describe(letter(1, "unknown-schema", to="ostock.organization.commands[1]@99"))
    fields = line.split("  ")
    assert fields[:4] == [
        "0:1",
        "unknown-schema",
        "ostock.organization.commands[1]@41",
        "ostock.organization-service",
    ]
    assert fields[5:] == ["requeued->ostock.organization.commands[1]@99", "unknown-schema: details"]
    assert as_json(letter(0, "bad-framing"))["requeued_to"] is None


def test_hex_dump_shows_offsets_bytes_and_text() -> None:
    lines = hex_dump(b"\xc3\x01" + b"0123456789abcdefXY")
    assert lines[0].startswith("00000000  c3 01 30 31")
    assert lines[0].endswith("..0123456789abcd")
    assert lines[1].startswith("00000010  65 66 58 59")
    assert lines[1].endswith("efXY")
    assert hex_dump(b"") == []
