"""The licensing service's own knowledge of organizations, learned only from
organization events (it never calls the organization service or reads its views).

Commands and events share the organization id as key, so the handler that owns
partition p of the license commands reads partition p of the organization events.
A license may be asked for right after its organization, before the organization
service has decided it: then the directory waits, bounded, until that service's
committed offset on the organization commands shows every command issued so far
decided (Kafka's own bookkeeping, committed with the events), and reads on.
"""

import logging
import time
from collections.abc import Sequence

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, Message, TopicPartition
from confluent_kafka.admin import AdminClient

from ostock.contract import Codec, UndecodableRecord
from ostock.contract.records import ORGANIZATION_EVENTS, OrganizationDeleted
from ostock.domain.license import OrganizationStanding
from ostock.kafka.topic_reader import Batch, TopicReader

log = logging.getLogger(__name__)


class OrganizationDirectory:
    """Standing (exists, deleted) of every organization in the owned partitions."""

    def __init__(
        self,
        consumer: Consumer,
        admin: AdminClient,
        topic: str,
        commands_topic: str,
        deciding_group: str,
        codec: Codec,
        timeout_s: float,
    ) -> None:
        """`topic`: organization events; `commands_topic` and `deciding_group`: the
        organization commands and the group of the handlers that decide them."""
        self.reader = TopicReader(consumer)
        self.admin = admin
        self.topic = topic
        self.commands_topic = commands_topic
        self.deciding_group = deciding_group
        self.codec = codec
        self.timeout_s = timeout_s
        self._standings: dict[str, OrganizationStanding] = {}
        self._partitions: list[TopicPartition] = []

    def assign(self, partitions: Sequence[int]) -> None:
        """Forget everything and read the given partitions from the start to their end."""
        self._standings.clear()
        self._partitions = [TopicPartition(self.topic, p) for p in partitions]
        self.reader.assign(TopicPartition(self.topic, p, 0) for p in partitions)
        self.catch_up()

    def standing(self, organization_id: str) -> OrganizationStanding | None:
        """What is known of an organization now, without waiting."""
        return self._standings.get(organization_id)

    def poll(self) -> None:
        """Apply whatever organization events have already arrived."""
        self._apply(self.reader.fetch(1000, 0))

    def catch_up(self) -> None:
        """Read every owned partition up to its current end (bounded by the timeout).

        A client that holds "accepted" for an organization has its event committed,
        so after this the organization is known.
        """
        if not self._partitions:
            return
        owned = [(tp.topic, tp.partition) for tp in self._partitions]
        ends = self.reader.high_watermarks(owned, self.timeout_s)
        deadline = time.monotonic() + self.timeout_s
        for batch in self.reader.read(ends, 1000, 0.1, deadline):
            self._apply(batch)
        if self.reader.pending:
            log.warning("organization events not caught up in %.1fs", self.timeout_s)

    def settle(self) -> None:
        """Wait until every organization command already issued to the owned partitions
        is decided (bounded), then catch up with the events those decisions wrote."""
        owned = [TopicPartition(self.commands_topic, tp.partition) for tp in self._partitions]
        highs = self.reader.high_watermarks([(t.topic, t.partition) for t in owned], self.timeout_s)
        ends = {partition: high for (_, partition), high in highs.items()}
        request = ConsumerGroupTopicPartitions(self.deciding_group, owned)
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            future = self.admin.list_consumer_group_offsets([request])[request.group_id]
            decided = future.result(timeout=self.timeout_s).topic_partitions or []
            if all(tp.offset >= ends[tp.partition] for tp in decided):
                break
            time.sleep(0.02)
        else:
            log.warning("organization commands still undecided after %.1fs", self.timeout_s)
        self.catch_up()

    def _apply(self, batch: Batch) -> None:
        for error in batch.errors:
            log.warning("organization events: %s", error)
        for message in batch.records:
            self._apply_one(message)

    def _apply_one(self, message: Message) -> None:
        try:
            event = self.codec.read(message.value(), ORGANIZATION_EVENTS)
        except UndecodableRecord as error:
            # Not dead-lettered here: this consumer re-reads from offset 0 at every
            # assignment, and the organization projectors dead-letter the record.
            log.warning(
                "skipping undecodable organization event at %d: %s", message.offset(), error
            )
            return
        organization_id = event.meta.aggregate_id
        deleted = isinstance(event, OrganizationDeleted)
        self._standings[organization_id] = OrganizationStanding(organization_id, deleted)
