"""`ostock events TOPIC`: decode a topic's records and print them as JSON lines."""

import signal
from datetime import datetime
from typing import Annotated, Any

import orjson
import typer
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, TopicPartition

from ostock.contract import Codec, UndecodableRecord
from ostock.kafka.schema_registry import registry_codec
from ostock.kafka.topic_reader import TopicReader
from ostock.settings import Settings


def _default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    raise TypeError


def events(
    topic: str,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new records.")
    ] = False,
    new_only: Annotated[
        bool, typer.Option("--new", help="Start at the end, not the beginning.")
    ] = False,
    limit: Annotated[int, typer.Option(help="Stop after this many records (0: no limit).")] = 0,
) -> None:
    """Print the records of TOPIC, decoded, one JSON object per line."""
    settings = Settings()
    codec = registry_codec(settings)  # reads records of versions published after it was built
    reader = TopicReader.opened(settings, "ostock.cli.events")
    partitions = reader.partitions(topic, settings.kafka_timeout_s)
    if partitions is None:
        raise typer.BadParameter(f"no topic {topic!r}")
    start = OFFSET_END if new_only else OFFSET_BEGINNING
    reader.assign(TopicPartition(topic, p, start) for p in partitions)
    stop = False

    def interrupted(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, interrupted)
    to_eof = dict.fromkeys(((topic, p) for p in partitions), None)
    batches = reader.follow(1, 0.2) if follow else reader.read(to_eof, 1, 0.2)
    printed = 0
    try:
        for batch in batches:
            if batch.errors:
                typer.echo(f"kafka: {batch.errors[0]}", err=True)
                raise typer.Exit(1)
            for message in batch.records:
                typer.echo(_line(codec, message))
                printed += 1
            if stop or (limit and printed >= limit):
                break
    finally:
        reader.close()


def _line(codec: Codec, message: Any) -> str:
    out: dict[str, Any] = {
        "topic": message.topic(),
        "partition": message.partition(),
        "offset": message.offset(),
        "key": (message.key() or b"").decode(errors="replace"),
        "headers": {k: (v or b"").decode(errors="replace") for k, v in message.headers() or []},
    }
    try:
        record = codec.decode(message.value())
        out |= {"type": record.name, "value": record.fields}
    except UndecodableRecord as error:
        out |= {"undecodable": str(error), "bytes": len(message.value() or b"")}
    return orjson.dumps(out, default=_default).decode()
