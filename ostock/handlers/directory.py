"""The licensing service's own knowledge of organizations, learned only from
organization events (it never calls the organization service or reads its views).

Commands and events share the organization id as key, so the handler that owns
partition p of the license commands reads partition p of the organization events.
"""

import logging
import time
from collections.abc import Sequence

from confluent_kafka import Consumer, Message, TopicPartition

from ostock.contract import Codec, UndecodableRecord
from ostock.domain.license import OrganizationStanding

log = logging.getLogger(__name__)

ORGANIZATION_EVENTS = (
    "ostock.organization.OrganizationCreated",
    "ostock.organization.OrganizationUpdated",
    "ostock.organization.OrganizationDeleted",
)


class OrganizationDirectory:
    """Standing (exists, deleted) of every organization in the owned partitions."""

    def __init__(self, consumer: Consumer, topic: str, codec: Codec, timeout_s: float) -> None:
        self.consumer = consumer
        self.topic = topic
        self.codec = codec
        self.timeout_s = timeout_s
        self._standings: dict[str, OrganizationStanding] = {}
        self._partitions: list[TopicPartition] = []

    def assign(self, partitions: Sequence[int]) -> None:
        """Forget everything and read the given partitions from the start to their end."""
        self._standings.clear()
        self._partitions = [TopicPartition(self.topic, p) for p in partitions]
        self.consumer.assign([TopicPartition(self.topic, p, 0) for p in partitions])
        self.catch_up()

    def standing(self, organization_id: str) -> OrganizationStanding | None:
        """What is known of an organization now, without waiting."""
        return self._standings.get(organization_id)

    def poll(self) -> None:
        """Apply whatever organization events have already arrived."""
        for message in self.consumer.consume(num_messages=1000, timeout=0):
            self._apply(message)

    def catch_up(self) -> None:
        """Read every owned partition up to its current end (bounded by the timeout).

        A client that holds "accepted" for an organization has its event committed,
        so after this the organization is known.
        """
        if not self._partitions:
            return
        ends = {
            tp.partition: self.consumer.get_watermark_offsets(tp, self.timeout_s, cached=False)[1]
            for tp in self._partitions
        }
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            positions = self.consumer.position(self._partitions)
            if all(tp.offset >= ends[tp.partition] for tp in positions):
                return
            for message in self.consumer.consume(num_messages=1000, timeout=0.1):
                self._apply(message)
        log.warning("organization events not caught up in %.1fs", self.timeout_s)

    def _apply(self, message: Message) -> None:
        if message.error() is not None:
            log.warning("organization events: %s", message.error())
            return
        try:
            record = self.codec.decode(message.value(), expected=ORGANIZATION_EVENTS)
        except UndecodableRecord as error:
            # Not dead-lettered here: this consumer re-reads from offset 0 at every
            # assignment, and the organization projectors dead-letter the record.
            log.warning(
                "skipping undecodable organization event at %d: %s", message.offset(), error
            )
            return
        organization_id = record.fields["meta"]["aggregate_id"]
        deleted = record.name == "ostock.organization.OrganizationDeleted"
        self._standings[organization_id] = OrganizationStanding(organization_id, deleted)
