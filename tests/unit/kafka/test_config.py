"""Which client errors mean the client must be replaced."""

from confluent_kafka import KafkaError

from ostock.kafka.config import is_fatal


def test_a_fenced_static_member_is_fatal_though_librdkafka_does_not_flag_it() -> None:
    fenced_member = KafkaError(KafkaError._FATAL, "fenced by a newer instance", fatal=False)

    assert not fenced_member.fatal()
    assert is_fatal(fenced_member)
    assert is_fatal(KafkaError(KafkaError._FENCED, "producer fenced", fatal=True))
    assert not is_fatal(KafkaError(KafkaError._TRANSPORT, "broker down"))
