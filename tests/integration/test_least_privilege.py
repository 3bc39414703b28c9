"""The production profile refuses what a principal has no business doing: Kafka checks
SCRAM logins and ACLs, Redis its ACL users. Runs its own secured Kafka and Redis."""

import time
from collections.abc import Iterator
from typing import cast
from urllib.parse import urlsplit
from uuid import uuid4

import pytest
import redis
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from pydantic import SecretStr

from ostock.credentials import redis_password
from ostock.deployables import stream_group
from ostock.kafka.config import admin_config, consumer_config, producer_config
from ostock.kafka.lag import LagReader
from ostock.settings import Settings
from ostock.views import keys as within
from ostock.views.functions import COMMAND_PENDING, LIBRARY
from ostock.views.generations import live_generations
from ostock.views.keys import ORGANIZATIONS, Keys, generations_key, shard_generations_key
from ostock.views.projection import Projected, ViewUpdate
from ostock.views.shards import ONE_REDIS
from ostock.views.writer import project_batch, project_call
from tests.secured import secured_infra

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings (as the admin) of a secured Kafka and Redis of this module's own."""
    with secured_infra(tmp_path_factory.mktemp("secured")) as settings:
        yield settings


def as_principal(settings: Settings, principal: str) -> Settings:
    """The same settings, logged in to Kafka as `principal`."""
    return settings.model_copy(update={"kafka_principal": principal})


def produce(settings: Settings, topic: str) -> KafkaError | None:
    """Send one record as `settings.kafka_principal`; the broker's verdict (None: written)."""
    verdicts: list[KafkaError | None] = []
    producer = Producer(producer_config(settings))
    producer.produce(topic, b"value", key=b"key", on_delivery=lambda e, _: verdicts.append(e))
    deadline = time.monotonic() + 3 * settings.kafka_timeout_s
    while not verdicts and time.monotonic() < deadline:
        producer.poll(0.1)
    assert verdicts, f"no verdict on {topic}"
    return verdicts[0]


def test_the_api_writes_commands_but_not_events(secured: Settings) -> None:
    api = as_principal(secured, "api")

    assert produce(api, secured.topics.organization_commands) is None
    refused = produce(api, secured.topics.organization_events)

    assert refused is not None
    assert refused.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_a_service_forwards_commands_on_its_own_topic_only(secured: Settings) -> None:
    service = as_principal(secured, "organization-service")
    assert produce(service, secured.topics.organization_commands) is None
    refused = produce(service, secured.topics.license_commands)
    assert refused is not None and refused.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_a_projector_cannot_write_events(secured: Settings) -> None:
    refused = produce(as_principal(secured, "projector"), secured.topics.license_events)

    assert refused is not None
    assert refused.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_a_wrong_password_is_refused(secured: Settings) -> None:
    impostor = secured.model_copy(update={"kafka_password": SecretStr("not-the-password")})
    admin = AdminClient(admin_config(impostor))

    with pytest.raises(KafkaException):
        admin.list_topics(timeout=secured.kafka_timeout_s)


def redis_client(settings: Settings, user: str | None) -> redis.Redis:
    """A client of the secured Redis logged in as `user` (None: as `default`)."""
    password = redis_password(settings, user) if user is not None else None
    port = urlsplit(settings.redis_url).port
    return redis.Redis(port=port or 6379, username=user, password=password)


def test_redis_api_user_reads_views_but_writes_nothing(secured: Settings) -> None:
    keys = Keys(secured.redis_prefix)
    view = keys.organization(str(uuid4()))
    redis_client(secured, "admin").hset(view, "body", b"{}")
    api = redis_client(secured, "api")

    assert api.hget(view, "body") == b"{}"
    for write in (
        lambda: api.hset(view, "body", b"forged"),
        lambda: api.set(view, b"forged"),
        lambda: api.fcall(COMMAND_PENDING, 1, keys.command(str(uuid4())), b"{}", 2**40),
    ):
        with pytest.raises(redis.exceptions.NoPermissionError):
            write()


def test_redis_projector_user_writes_views_through_the_functions(secured: Settings) -> None:
    key = Keys(secured.redis_prefix).command(str(uuid4()))
    projector = redis_client(secured, "projector")
    projector.function_load(LIBRARY.read_text(), replace=True)

    projector.fcall(COMMAND_PENDING, 1, key, b"{}", 2**40)

    assert redis_client(secured, "api").hget(key, "state") == b"pending"


def test_redis_projector_user_projects_into_the_live_generation_the_api_finds(
    secured: Settings,
) -> None:
    base, organization_id = secured.redis_prefix, str(uuid4())
    # As a replay's switch leaves it: the organizations live in a generation of their own,
    # in the readers' record and in the (one Redis's one) shard's.
    admin = redis_client(secured, "admin")
    for record in (generations_key(base), shard_generations_key(base, ONE_REDIS)):
        admin.hset(record, ORGANIZATIONS, "g1")
    projector = redis_client(secured, "projector")
    projector.function_load(LIBRARY.read_text(), replace=True)
    view = ViewUpdate(within.organization(organization_id), 1, b"{}")
    expected = ("g1", None, None)
    batch = project_batch([(ONE_REDIS, expected, [Projected("events:0", 0, (view,))])])
    call = project_call(base, ORGANIZATIONS, [(ONE_REDIS, expected, [view.key])], batch, "PUBLISH")

    # The function reads the shard's generations and keeps the offsets of each source.
    assert projector.fcall(*call) == [1]

    api = redis_client(secured, "api")
    state = cast(dict[bytes, bytes], api.hgetall(generations_key(base)))
    live = Keys(base, live_generations(state))
    assert live.organization(organization_id) == f"{base}:g1:org:{{{organization_id}}}"
    assert api.hget(live.organization(organization_id), "body") == b"{}"
    with pytest.raises(redis.exceptions.NoPermissionError):
        api.hset(generations_key(base), ORGANIZATIONS, "g2")


def test_redis_default_user_is_disabled(secured: Settings) -> None:
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis_client(secured, None).ping()


def test_the_lag_exporter_reads_a_groups_lag_but_writes_nothing(secured: Settings) -> None:
    events = secured.topics.organization_events
    group = stream_group(secured, "organization-projector")
    for _ in range(3):
        assert produce(secured, events) is None
    committer = Consumer(consumer_config(secured, group))
    starts = [TopicPartition(events, p, 0) for p in range(secured.topic_partitions)]
    deadline = time.monotonic() + 30
    while True:  # a fresh broker loads its offsets topic first
        try:
            committer.commit(offsets=starts, asynchronous=False)
            break
        except KafkaException:
            assert time.monotonic() < deadline, "offsets not committed in 30 s"
            time.sleep(0.2)
    committer.close()
    exporter = as_principal(secured, "lag-exporter")

    reader = LagReader(exporter)
    try:
        [state] = reader.groups([group], [events])
    finally:
        reader.close()

    assert sum(lag.records for lag in state.lags) >= 3  # other tests here write events too
    assert all(lag.seconds is not None for lag in state.lags)
    # It may write nowhere, so the broker does not even give its producer an id.
    with pytest.raises(KafkaException, match="CLUSTER_AUTHORIZATION_FAILED"):
        produce(exporter, events)
