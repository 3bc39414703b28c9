"""`ostock events TOPIC`: decode a topic's records and print them as JSON lines."""

import signal
from datetime import datetime
from typing import Annotated, Any

import orjson
import typer
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, KafkaError, TopicPartition

from ostock.contract import Codec, UndecodableRecord
from ostock.kafka.config import consumer_config
from ostock.kafka.schema_registry import registry_codec
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
    consumer = Consumer(
        consumer_config(settings, "ostock.cli.events", **{"enable.partition.eof": True})
    )
    metadata = consumer.list_topics(topic, timeout=settings.kafka_timeout_s).topics.get(topic)
    if metadata is None or metadata.error is not None:
        raise typer.BadParameter(f"no topic {topic!r}")
    start = OFFSET_END if new_only else OFFSET_BEGINNING
    consumer.assign([TopicPartition(topic, p, start) for p in metadata.partitions])
    at_end: set[int] = set()
    stop = False

    def interrupted(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, interrupted)
    printed = 0
    try:
        while not stop and (follow or len(at_end) < len(metadata.partitions)):
            message = consumer.poll(0.2)
            if message is None:
                continue
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    at_end.add(message.partition() or 0)
                    continue
                typer.echo(f"kafka: {error}", err=True)
                raise typer.Exit(1)
            typer.echo(_line(codec, message))
            printed += 1
            if limit and printed >= limit:
                break
    finally:
        consumer.close()


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
