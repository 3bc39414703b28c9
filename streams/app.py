"""The Faust app of one projector: its own consumer group, reading committed records only."""

from typing import Any

import faust
from faust.auth import SASLCredentials
from faust.transport.drivers import aiokafka as driver

from ostock.kafka import security_config
from ostock.settings import Settings


class _ReadCommittedConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Faust asks for read_committed only under its own exactly_once, which we do not
        # use (DESIGN section 2). aiokafka reads the level when the consumer starts.
        consumer._isolation_level = "read_committed"
        return consumer


class _ReadCommittedConsumer(driver.Consumer):
    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return _ReadCommittedConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _ReadCommittedTransport(driver.Transport):
    Consumer = _ReadCommittedConsumer


class ProjectorApp(faust.App):
    """A faust.App whose consumer skips records of aborted transactions."""

    def _new_transport(self) -> Any:
        return _ReadCommittedTransport(self.conf.broker_consumer, self)


def create_app(settings: Settings, projector: str) -> ProjectorApp:
    """The app of `projector`; it connects to nothing yet.

    Its consumer group is named after the key prefix it builds, ``<prefix>.<projector>``
    (``ostock.organization-projector`` live): the group's committed offsets say how far
    that prefix's views are, so a projector building a fresh prefix starts from offset 0.
    """
    group_id = f"{settings.redis_prefix}.{projector}"
    return ProjectorApp(
        group_id,
        broker=[f"kafka://{server}" for server in settings.kafka_bootstrap.split(",")],
        broker_credentials=_credentials(settings),
        topic_partitions=settings.topic_partitions,
        # The project creates every topic (ostock.infra.topics); faust creates none,
        # and no leader topic either: a projector needs no leader.
        topic_allow_declare=False,
        topic_disable_leader=True,
        # No web server: several workers share one machine without port clashes.
        web_enabled=False,
        datadir=settings.data_dir / "streams" / group_id,
        key_serializer="raw",
        value_serializer="raw",
        consumer_auto_offset_reset="earliest",
        # Stopping or giving up partitions does not wait for the batches in flight: one
        # that a Redis outage holds would hold the shutdown (or the rebalance) forever.
        # They stay unacked (streams.projector), so they are consumed again: no loss.
        stream_wait_empty=False,
    )


def _credentials(settings: Settings) -> SASLCredentials | None:
    """The SCRAM login of ostock.kafka.security_config, as faust's aiokafka driver takes it."""
    login = security_config(settings)
    if not login:
        return None
    return SASLCredentials(
        username=login["sasl.username"],
        password=login["sasl.password"],
        mechanism=login["sasl.mechanism"],
    )
