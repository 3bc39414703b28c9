"""Domain events <-> Avro event records (the mapper of ostock.handlers.application).

The stored state of an event IS the Avro record that consumers read from the
events topic, so the log needs no second encoding.
"""

from hashlib import sha1
from typing import Any
from uuid import NAMESPACE_URL, UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder
from eventsourcing.utils import get_topic

from ostock.contract import Codec
from ostock.eventstore.log import KeyedStoredEvent
from ostock.eventstore.registry import EVENT_RECORDS, RECORD_EVENTS

_URL_NAMESPACE = NAMESPACE_URL.bytes
_META_ATTRIBUTES = ("originator_id", "originator_version", "timestamp", "originator_topic")
_CARRIED = ("command_id", "correlation_id", "issued_by")


def event_id(aggregate_id: str, version: int) -> str:
    """Deterministic, so rebuilding an event from the log gives the same id: the text of
    uuid5(NAMESPACE_URL, "ostock:<aggregate_id>:<version>"), made without the UUID object
    that uuid.uuid5 builds and checks, at less than half its cost (one per event)."""
    digest = sha1(_URL_NAMESPACE + f"ostock:{aggregate_id}:{version}".encode()).digest()
    # RFC 4122 section 4.3: version 5 in the high nibble of byte 6, the variant in byte 8.
    text = (
        digest[:6] + bytes((digest[6] & 0x0F | 0x50,)) + digest[7:8]
        + bytes((digest[8] & 0x3F | 0x80,)) + digest[9:16]
    ).hex()  # fmt: skip
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


class AvroMapper(Mapper[UUID]):
    """Encodes each registered domain event as its Avro record in the contract."""

    def __init__(
        self, transcoder: Transcoder | None = None, codec: Codec | None = None, **_: Any
    ) -> None:
        super().__init__(transcoder)  # type: ignore[arg-type]
        self.codec = codec or Codec()

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        name = EVENT_RECORDS[type(domain_event)]
        state = dict(vars(domain_event))
        aggregate_id = str(state["originator_id"])
        organization_id = str(state.pop("organization_id", aggregate_id))
        meta = {
            "event_id": event_id(aggregate_id, state["originator_version"]),
            "aggregate_id": aggregate_id,
            "organization_id": organization_id,
            "version": state["originator_version"],
            "occurred_at": state["timestamp"],
            **{field: state.pop(field) for field in _CARRIED},
        }
        for attribute in _META_ATTRIBUTES:
            state.pop(attribute, None)
        return KeyedStoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=name,
            state=self.codec.encode(name, {"meta": meta, **state}),
            key=organization_id,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        record = self.codec.decode(stored_event.state)
        event_class, aggregate_class = RECORD_EVENTS[record.name]
        fields = dict(record.fields)
        meta = fields.pop("meta")
        state: dict[str, Any] = {
            "originator_id": UUID(meta["aggregate_id"]),
            "originator_version": meta["version"],
            "timestamp": meta["occurred_at"],
            **{field: meta[field] for field in _CARRIED},
            **fields,
        }
        if "organization_id" in event_class.__dataclass_fields__:
            state["organization_id"] = meta["organization_id"]
        if "originator_topic" in event_class.__dataclass_fields__:
            state["originator_topic"] = get_topic(aggregate_class)
        event = object.__new__(event_class)
        object.__setattr__(event, "__dict__", state)
        return event  # type: ignore[no-any-return]
