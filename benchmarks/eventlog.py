"""An event log for the replay benchmark, produced straight to the event topics.

Writing a million events through the command handlers would take about twenty minutes,
so the records are produced the way the handlers write them (ostock.eventstore.log and
.mapper): the Avro record of the event as value, the organization id as key, headers
event-type, aggregate-id, aggregate-version and the carried correlation-id, by a fast
idempotent producer (large batches, no compression: the topics keep what the producer
sends). Each organization's world is EVENTS_PER_WORLD events: the organization created
and updated twice (3 versions), three licenses created and updated, one of them deleted.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from confluent_kafka import Producer

from ostock.contract import Codec
from ostock.eventstore.log import AGGREGATE_ID, AGGREGATE_VERSION, EVENT_TYPE
from ostock.eventstore.mapper import event_id
from ostock.kafka.config import producer_config
from ostock.settings import Settings

EVENTS_PER_WORLD = 10
#: The producer of the log and of Kafka's ProducerPerformance (benchmarks.ceiling).
FAST_PRODUCER = {"linger.ms": 20, "batch.size": 262_144, "compression.type": "none"}
START = datetime(2025, 1, 1, tzinfo=UTC)

Headers = list[tuple[str, str | bytes | None]]
#: (organization topic or not, key, value, headers)
Event = tuple[bool, bytes, bytes, Headers]


@dataclass
class Filled:
    """What the log holds so far, and how long producing it took."""

    records: int = 0
    bytes: int = 0
    seconds: float = 0.0
    worlds: int = 0

    @property
    def record_size(self) -> int:
        """The mean size of a record (key, value, header names and values), in bytes."""
        return round(self.bytes / self.records) if self.records else 0

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


def fill(settings: Settings, filled: Filled, target: int, progress: Callable[[str], None]) -> None:
    """Append whole worlds until the log holds at least `target` events."""
    producer = Producer(producer_config(settings, **FAST_PRODUCER))
    topics = {True: settings.topics.organization_events, False: settings.topics.license_events}
    codec = Codec()
    started = time.perf_counter()
    shown = filled.records
    while filled.records < target:
        for organization, key, value, headers in world(codec, filled.worlds):
            while True:
                try:
                    producer.produce(topics[organization], key=key, value=value, headers=headers)
                    break
                except BufferError:
                    producer.poll(0.01)
            filled.records += 1
            filled.bytes += len(key) + len(value) + sum(len(k) + len(v or b"") for k, v in headers)
        filled.worlds += 1
        producer.poll(0)
        if filled.records - shown >= 100_000:
            progress(f"  log: {filled.records:,} events")
            shown = filled.records
    if producer.flush(60):
        raise RuntimeError("the broker did not take every event")
    filled.seconds += time.perf_counter() - started


def world(codec: Codec, n: int) -> Iterator[Event]:
    """The events of organization world `n`, in the order the handlers would write them."""
    organization_id = str(uuid4())
    at = START + timedelta(seconds=n)
    correlation = str(uuid4())
    details = {
        "name": f"Organization {n}",
        "contact_name": "Ada Lovelace",
        "contact_email": f"ada{n}@example.org",
        "contact_phone": "+1 555 0100",
        "website": f"https://org{n}.example.org",
    }
    for version, kind in enumerate(("Created", "Updated", "Updated"), start=1):
        changed = details | {"name": f"Organization {n} v{version}"}
        yield _event(
            codec,
            f"ostock.organization.Organization{kind}",
            organization_id,
            organization_id,
            version,
            at,
            correlation,
            changed,
        )
    for seat in range(3):
        license_id = str(uuid4())
        fields = {
            "product_name": "Office",
            "license_type": "user",
            "description": f"{10 * (seat + 1)} seats",
            "comment": "",
        }
        kinds = ("Created", "Updated", "Deleted") if seat == 2 else ("Created", "Updated")
        for version, kind in enumerate(kinds, start=1):
            body = {} if kind == "Deleted" else fields | {"comment": f"v{version}"}
            yield _event(
                codec,
                f"ostock.license.License{kind}",
                organization_id,
                license_id,
                version,
                at,
                correlation,
                body,
            )


def _event(
    codec: Codec,
    name: str,
    organization_id: str,
    aggregate_id: str,
    version: int,
    at: datetime,
    correlation: str,
    details: dict[str, Any],
) -> Event:
    meta = {
        "event_id": event_id(aggregate_id, version),
        "aggregate_id": aggregate_id,
        "organization_id": organization_id,
        "version": version,
        "occurred_at": at + timedelta(milliseconds=version),
        "command_id": str(uuid4()),
        "correlation_id": correlation,
        "issued_by": "bench",
    }
    headers: Headers = [
        (EVENT_TYPE, name.encode()),
        (AGGREGATE_ID, aggregate_id.encode()),
        (AGGREGATE_VERSION, str(version).encode()),
        ("correlation-id", correlation.encode()),
    ]
    value = codec.encode(name, {"meta": meta, **details})
    return name.startswith("ostock.organization."), organization_id.encode(), value, headers
