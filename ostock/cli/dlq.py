"""`ostock dlq`: list and inspect dead letters, requeue them once the cause is fixed,
purge them (ostock.kafka.dead_letter_queue)."""

import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import orjson
import typer

from ostock.contract import UndecodableRecord
from ostock.kafka import deadletters as dlq
from ostock.kafka.dead_letter_queue import DeadLetterQueue, DeadLetterQueueError
from ostock.kafka.letters import DeadLetter, LetterId, same_records
from ostock.kafka.letters import select as select_letters
from ostock.kafka.schema_registry import registry_codec
from ostock.settings import Settings

app = typer.Typer(help="The dead-letter topic: list, show, requeue, purge.", no_args_is_help=True)

Reason = Annotated[str | None, typer.Option(help="Only letters with this reason.")]
SourceTopic = Annotated[str | None, typer.Option(help="Only letters from this topic.")]
Consumer = Annotated[str | None, typer.Option(help="Only letters of this consumer group.")]

#: Exit codes: a wrong request (unknown id), Kafka unreachable or refusing.
NOT_FOUND, KAFKA_FAILED = 1, 2

T = TypeVar("T")


def describe(letter: DeadLetter) -> str:
    """One line: id, reason, source, consumer, time, requeue, error."""
    topic, partition, offset = letter.source
    requeued = f"requeued->{letter.requeued_to}" if letter.requeued_to else "-"
    return "  ".join(
        [
            str(letter.id),
            letter.reason or "?",
            f"{topic}[{partition}]@{offset}",
            letter.get(dlq.CONSUMER) or "?",
            letter.get(dlq.FAILED_AT) or "?",
            requeued,
            letter.get(dlq.ERROR),
        ]
    )


def as_json(letter: DeadLetter) -> dict[str, Any]:
    """The fields of `describe` as an object."""
    topic, partition, offset = letter.source
    return {
        "id": str(letter.id),
        "reason": letter.reason,
        "error": letter.get(dlq.ERROR),
        "source_topic": topic,
        "source_partition": partition,
        "source_offset": offset,
        "consumer": letter.get(dlq.CONSUMER),
        "failed_at": letter.get(dlq.FAILED_AT),
        "requeued_to": letter.requeued_to,
    }


def hex_dump(data: bytes, width: int = 16) -> list[str]:
    """`data` as lines of offset, hex bytes and printable ASCII."""
    lines = []
    for start in range(0, len(data), width):
        chunk = data[start : start + width]
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{start:08x}  {chunk.hex(' '):<{width * 3}} {text}")
    return lines


@app.command("list")
def list_letters(
    reason: Reason = None,
    source_topic: SourceTopic = None,
    consumer: Consumer = None,
    json_lines: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Every dead letter, one line each: id, reason, source, consumer, time, requeue, error."""
    letters = select_letters(
        _letters(), reason=reason, source_topic=source_topic, consumer=consumer
    )
    for letter in letters:
        typer.echo(json.dumps(as_json(letter)) if json_lines else describe(letter))
    typer.echo(f"{len(letters)} dead letter(s)", err=True)


@app.command()
def show(letter_id: Annotated[str, typer.Argument(metavar="ID", help="partition:offset")]) -> None:
    """A dead letter's headers, key and value (decoded if it decodes, and in hex)."""
    letter = _find(_letters(), [letter_id])[0]
    typer.echo(f"dead letter {letter.id}")
    typer.echo(f"requeued to: {letter.requeued_to or '-'}")
    typer.echo("headers:")
    for name, value in letter.headers:
        text = value.decode(errors="replace") if isinstance(value, bytes) else value
        typer.echo(f"  {name}: {text}")
    typer.echo(f"key: {(letter.key or b'').decode(errors='replace')}")
    try:
        record = registry_codec(Settings()).decode(letter.value)
        fields = orjson.dumps(record.fields, default=_default).decode()
        typer.echo(f"value: {record.name} {fields}")
    except UndecodableRecord as error:
        typer.echo(f"value: undecodable ({error})")
    typer.echo(f"value bytes: {len(letter.value or b'')}")
    for line in hex_dump(letter.value or b""):
        typer.echo(f"  {line}")


@app.command()
def requeue(
    letter_ids: Annotated[
        list[str] | None, typer.Argument(metavar="ID", help="partition:offset")
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Every letter matching the filters.")
    ] = False,
    reason: Reason = None,
    source_topic: SourceTopic = None,
    consumer: Consumer = None,
    again: Annotated[bool, typer.Option(help="Also letters requeued before.")] = False,
) -> None:
    """Send dead letters back to their source topic and partition (original key, value
    and headers): consumed there like a record arriving for the first time."""
    if bool(letter_ids) == every:
        raise typer.BadParameter("give either dead-letter ids or --all (with filters)")
    letters = _letters()
    if every:
        chosen = select_letters(
            letters, reason=reason, source_topic=source_topic, consumer=consumer
        )
    else:
        chosen = _find(letters, letter_ids or [])
    chosen = same_records(chosen, letters)
    done = [letter for letter in chosen if letter.requeued_to]
    if done and not again:
        for letter in done:
            typer.echo(f"{letter.id} skipped: requeued before to {letter.requeued_to}", err=True)
        chosen = [letter for letter in chosen if not letter.requeued_to]
    went = _kafka(lambda: DeadLetterQueue(Settings()).requeue(chosen))
    for letter_id, to in went.items():
        typer.echo(f"{letter_id} requeued to {to}")
    records = len(set(went.values()))
    typer.echo(f"{records} record(s) requeued ({len(went)} dead letter(s))", err=True)


@app.command()
def purge(
    every: Annotated[bool, typer.Option("--all", help="Drop every dead letter.")] = False,
    before: Annotated[
        str | None, typer.Option(metavar="ID", help="Drop the letters of ID's partition before it.")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Drop dead letters for good: Kafka deletes only a partition's oldest records."""
    if every == (before is not None):
        raise typer.BadParameter("give --all or --before ID")
    cut = None if before is None else _parse([before])[0]
    what = "every dead letter" if cut is None else f"partition {cut.partition} before {cut}"
    if not yes and not typer.confirm(f"drop {what}?"):
        raise typer.Exit(NOT_FOUND)
    queue = DeadLetterQueue(Settings())
    dropped = _kafka(lambda: queue.purge(None if cut is None else {cut.partition: cut.offset}))
    for partition, (low, high) in sorted(dropped.items()):
        typer.echo(f"partition {partition}: dropped offsets {low}..{high - 1} ({high - low})")
    total = sum(high - low for low, high in dropped.values())
    typer.echo(f"{total} record(s) dropped (dead letters and their requeue marks)", err=True)


def _letters() -> list[DeadLetter]:
    return _kafka(lambda: DeadLetterQueue(Settings()).letters())


def _parse(texts: list[str]) -> list[LetterId]:
    try:
        return [LetterId.parse(text) for text in texts]
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


def _find(letters: list[DeadLetter], texts: list[str]) -> list[DeadLetter]:
    by_id = {letter.id: letter for letter in letters}
    wanted = _parse(texts)
    missing = [str(i) for i in wanted if i not in by_id]
    if missing:
        typer.echo(f"error: no dead letter {', '.join(missing)}", err=True)
        raise typer.Exit(NOT_FOUND)
    return [by_id[i] for i in wanted]


def _kafka(call: Callable[[], T]) -> T:
    try:
        return call()
    except DeadLetterQueueError as error:
        typer.echo(f"error: {error} (Kafka at {Settings().kafka_bootstrap})", err=True)
        raise typer.Exit(KAFKA_FAILED) from None


def _default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError
