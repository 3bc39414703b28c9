"""A checker of the write side: it folds the commands log itself, in the order each
partition's owner had to decide it, and confirms that every result is the right one
(every rejection deserved, every acceptance at the right version) and that every
accepted change has exactly one event at its position."""

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition

from ostock.contract import Codec, UndecodableRecord, names
from ostock.contract.records import Command
from ostock.kafka.config import consumer_config, header, partition_for
from ostock.settings import Settings
from tests.kafka_helpers import read_until

#: A command's outcome: status, error code, version.
Outcome = tuple[str, str | None, int | None]
#: Each command's action (create, update, delete), by record name: CreateLicense -> create.
ACTIONS = {name: name.rsplit(".", 1)[1][:6].lower() for name in names.COMMANDS}


@dataclass
class Aggregate:
    """One aggregate as the commands decided so far left it."""

    version: int = 0
    deleted: bool = False
    accepted: dict[str, int] = field(default_factory=dict)  # command id -> version


def expected(
    aggregate: Aggregate, action: str, meta: dict[str, Any], standing: str | None
) -> Outcome:
    """The outcome the domain owes a command, given its aggregate and, for a license, a
    rejection its organization's standing calls for (None: the organization is live)."""
    command_id = meta["command_id"]
    if command_id in aggregate.accepted:
        return "accepted", None, aggregate.accepted[command_id]
    if action == "create":
        if aggregate.version:
            return "rejected", "already-exists", None
    elif not aggregate.version:
        return "rejected", "not-found", None
    elif aggregate.deleted:
        return "rejected", "deleted", None
    elif meta["expected_version"] not in (None, aggregate.version):
        return "rejected", "version-conflict", None
    if standing is not None and action != "delete":
        return "rejected", standing, None
    aggregate.version += 1
    aggregate.deleted = action == "delete"
    aggregate.accepted[command_id] = aggregate.version
    return "accepted", None, aggregate.version


def assert_decided_rightly(
    settings: Settings,
    commands: list[Command],
    commands_topic: str,
    events_topic: str,
    timeout_s: float = 90.0,
) -> None:
    """Every one of `commands` has its right result, once for each time it sits on its
    organization's partition, given every command of their aggregates before it; every
    acceptance that made a new version has exactly one event there. A license's
    organization must exist (created in the organization events, never deleted)."""
    ids = {c.meta.command_id for c in commands}
    targets = {c.meta.aggregate_id for c in commands}
    results = read_until(
        settings,
        settings.topics.command_results,
        lambda records: ids <= {(m.key() or b"").decode() for m in records},
        timeout_s=timeout_s,
    )
    codec = Codec()
    actual: dict[str, list[Outcome]] = defaultdict(list)
    for record in _decoded(codec, results, ids):
        actual[record["command_id"]].append(
            (record["status"], record["error_code"], record["version"])
        )

    logged, partitions = read_to_end(settings, commands_topic)
    licenses = commands_topic == settings.topics.license_commands
    standings = _standings(settings, codec) if licenses else {}
    aggregates: dict[str, Aggregate] = defaultdict(Aggregate)
    owed: dict[str, list[Outcome]] = defaultdict(list)
    changes: set[tuple[str, int, str]] = set()
    for message in sorted(logged, key=lambda m: (m.partition(), m.offset())):
        record = _decode(codec, message)
        if record is None or record.fields["meta"]["aggregate_id"] not in targets:
            continue
        meta = record.fields["meta"]
        if message.partition() != partition_for(meta["organization_id"], partitions):
            continue  # forwarded: its copy on the organization's partition is decided
        aggregate = aggregates[meta["aggregate_id"]]
        version = aggregate.version
        standing = standings.get(meta["organization_id"], "organization-not-found")
        outcome = expected(aggregate, ACTIONS[record.name], meta, standing if licenses else None)
        owed[meta["command_id"]].append(outcome)
        if aggregate.version != version:
            changes.add((meta["aggregate_id"], aggregate.version, meta["command_id"]))

    # (actual, owed); owed [] means the command sat on no partition of its organization's
    # and only the copy forwarded there should have been decided.
    wrong = {i: (actual[i], owed[i]) for i in ids if actual[i] != owed[i]}
    assert not wrong, (
        f"{len(wrong)} of {len(ids)} commands decided wrongly, e.g. {list(wrong.items())[:3]}"
    )

    events = read_until(
        settings,
        events_topic,
        lambda records: len(_positions(codec, records, targets)) >= len(changes),
        timeout_s=timeout_s,
    )
    positions = _positions(codec, events, targets)
    assert len(positions) == len(set(positions)), "an (aggregate, version) written twice"
    assert set(positions) == changes


def assert_one_result_each(settings: Settings) -> None:
    """Every command on the command topics (the saga's included; a forwarded command and
    its copy share an id) has exactly one result, and no result is of another command."""
    codec = Codec()
    issued: set[str] = set()
    for topic in (settings.topics.organization_commands, settings.topics.license_commands):
        commands, _ = read_to_end(settings, topic)
        issued |= {r.fields["meta"]["command_id"] for m in commands if (r := _decode(codec, m))}
    results, _ = read_to_end(settings, settings.topics.command_results)
    counted = Counter((m.key() or b"").decode() for m in results)
    twice = [command_id for command_id, n in counted.items() if n > 1]
    assert not twice, f"{len(twice)} commands have more than one result, e.g. {twice[:3]}"
    assert set(counted) == issued, f"without result: {len(issued - set(counted))}"


def _standings(settings: Settings, codec: Codec) -> dict[str, str | None]:
    """Each organization the organization events know: None if live, the rejection a
    license command gets if deleted."""
    events, _ = read_to_end(settings, settings.topics.organization_events)
    standings: dict[str, str | None] = {}
    for message in events:
        record = _decode(codec, message)
        if record is not None:
            deleted = record.name.endswith("Deleted")
            standings[record.fields["meta"]["aggregate_id"]] = (
                "organization-deleted" if deleted else None
            )
    return standings


def _positions(
    codec: Codec, records: list[Message], aggregates: set[str]
) -> list[tuple[str, int, str]]:
    mine = [m for m in records if header(m.headers(), "aggregate-id") in aggregates]
    return [
        (
            r.fields["meta"]["aggregate_id"],
            r.fields["meta"]["version"],
            r.fields["meta"]["command_id"],
        )
        for r in (codec.decode(m.value()) for m in mine)
    ]


def read_to_end(
    settings: Settings, topic: str, timeout_s: float = 30.0
) -> tuple[list[Message], int]:
    """Every committed record of `topic` up to its end as of now, and its partition count."""
    consumer = Consumer(consumer_config(settings, "tests.checker"))
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in partitions
        }
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        records: list[Message] = []
        deadline = time.monotonic() + timeout_s
        unread = [TopicPartition(topic, p) for p, end in ends.items() if end > 0]
        # A position is the offset after the last record read, or negative before any.
        while any(p.offset < ends[p.partition] for p in consumer.position(unread)):
            assert time.monotonic() < deadline, f"{topic} not read to its end in {timeout_s}s"
            records.extend(m for m in consumer.consume(500, timeout=0.2) if m.error() is None)
        return records, len(partitions)
    finally:
        consumer.close()


def _decode(codec: Codec, message: Message) -> Any:
    try:
        return codec.decode(message.value())
    except UndecodableRecord:
        return None  # poison other tests fed


def _decoded(codec: Codec, results: list[Message], ids: set[str]) -> list[dict[str, Any]]:
    mine = [m for m in results if (m.key() or b"").decode() in ids]
    return [r.fields for r in (codec.decode(m.value()) for m in mine)]
