"""The Kafka persistence module against the real broker: the library's own recorder
contract, plus what the contract cannot see (the topic is the store)."""

from collections.abc import Iterator
from uuid import uuid4

import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from eventsourcing.persistence import StoredEvent
from eventsourcing.tests.persistence import AggregateRecorderTestCase
from eventsourcing.utils import Environment

from ostock.eventstore.factory import KafkaFactory
from ostock.eventstore.recorder import KafkaAggregateRecorder
from ostock.handlers.application import kafka_env
from ostock.settings import Settings

pytestmark = pytest.mark.integration


def new_topic(settings: Settings) -> str:
    name = f"test.events.{uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    admin.create_topics([NewTopic(name, 1, 1)])[name].result(timeout=10)
    return name


def recorder_factory(settings: Settings, topic: str) -> KafkaFactory:
    factory = KafkaFactory(Environment("test", kafka_env(settings, topic, f"test.{topic}")))
    factory.log.load([0])
    return factory


class TestKafkaAggregateRecorder(AggregateRecorderTestCase):
    """eventsourcing.tests.persistence's contract, run against the Kafka recorder."""

    settings: Settings

    @pytest.fixture(autouse=True)
    def _broker(self, settings: Settings) -> None:
        self.settings = settings

    def create_recorder(self) -> KafkaAggregateRecorder:
        factory = recorder_factory(self.settings, new_topic(self.settings))
        recorder = factory.aggregate_recorder()
        assert isinstance(recorder, KafkaAggregateRecorder)
        return recorder


del AggregateRecorderTestCase  # so the abstract base does not run on its own


@pytest.fixture
def topic(settings: Settings) -> Iterator[str]:
    yield new_topic(settings)


def event(originator: str, version: int) -> StoredEvent:
    return StoredEvent(originator, version, "test.Happened", f"{originator}:{version}".encode())


def test_a_new_writer_reads_what_an_earlier_one_committed(settings: Settings, topic: str) -> None:
    first = recorder_factory(settings, topic).aggregate_recorder()
    first.insert_events([event("a", 1), event("a", 2), event("b", 1)])
    second = recorder_factory(settings, topic).aggregate_recorder()
    assert [e.state for e in second.select_events("a")] == [b"a:1", b"a:2"]
    assert [e.state for e in second.select_events("b")] == [b"b:1"]


def test_a_failed_batch_leaves_no_event(settings: Settings, topic: str) -> None:
    factory = recorder_factory(settings, topic)
    recorder = factory.aggregate_recorder()
    with pytest.raises(RuntimeError), factory.log.staging():
        recorder.insert_events([event("a", 1)])
        raise RuntimeError("the batch fails after the event was staged")
    assert recorder.select_events("a") == []
    recorder.insert_events([event("a", 1)])
    reread = recorder_factory(settings, topic).aggregate_recorder()
    assert [e.state for e in reread.select_events("a")] == [b"a:1"]


def test_an_aborted_transaction_leaves_no_event(settings: Settings, topic: str) -> None:
    factory = recorder_factory(settings, topic)
    with factory.log.staging() as staged:
        factory.aggregate_recorder().insert_events([event("b", 1)])
    offsets = [TopicPartition("no-such-topic", 0, 1)]
    # The event is produced, then sending offsets without a group's metadata fails.
    with pytest.raises(TypeError):
        factory.log.transactions.publish(staged, offsets, None)
    factory.aggregate_recorder().insert_events([event("c", 1)])  # a transaction begins
    reread = recorder_factory(settings, topic).aggregate_recorder()
    assert reread.select_events("b") == []
    assert [e.state for e in reread.select_events("c")] == [b"c:1"]
