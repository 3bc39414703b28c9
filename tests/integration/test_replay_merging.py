"""A replay's merged batches on a real Redis (ostock.replay.merging, ostock_replay): they
leave every key as the live projector leaves it applying the same events one by one,
however the log is cut into batches and whatever the built generation already holds."""

from collections.abc import Sequence
from datetime import timedelta

import pytest

from ostock.contract.records import Event, OrganizationEvent
from ostock.replay.merging import BatchMerge
from ostock.replay.verify import compare
from ostock.views.client import RedisClient
from ostock.views.keys import FIRST_GENERATION, MODELS, Keys
from ostock.views.models import READ_MODELS, Positioned
from ostock.views.writer import ViewWriter
from tests.records import ACME, AT, SEATS, license_event, organization_event

pytestmark = [pytest.mark.integration, pytest.mark.both_redis]

BUILT = "g1"
TOPICS = {"organizations": "org-events", "organization-copies": "org-events"}


def topic_of(model: str) -> str:
    return TOPICS.get(model, "license-events")


def log() -> list[Positioned[Event]]:
    """Two organizations' worlds, interleaved as partitions interleave them: creations,
    updates and deletions, an event delivered twice and one older than its aggregate."""
    at = [AT + timedelta(seconds=n) for n in range(10)]
    a, b = "org-a", "org-b"
    records = [
        organization_event("OrganizationCreated", a, 1, at[0], **ACME),
        license_event("LicenseCreated", a, "lic-a1", 1, at[0], **SEATS),
        organization_event("OrganizationCreated", b, 1, at[1], **ACME),
        license_event("LicenseCreated", a, "lic-a2", 1, at[1], **SEATS),
        organization_event("OrganizationUpdated", a, 2, at[2], **ACME | {"name": "A2"}),
        license_event("LicenseUpdated", a, "lic-a1", 2, at[2], **SEATS | {"comment": "2"}),
        license_event("LicenseCreated", b, "lic-b1", 1, at[3], **SEATS),
        license_event("LicenseDeleted", a, "lic-a2", 2, at[4]),
        license_event("LicenseUpdated", a, "lic-a1", 2, at[2], **SEATS | {"comment": "2"}),
        organization_event("OrganizationUpdated", b, 2, at[5], **ACME | {"name": "B2"}),
        organization_event("OrganizationUpdated", b, 2, at[5], **ACME | {"name": "B2"}),
        license_event("LicenseUpdated", b, "lic-b1", 2, at[6], **SEATS | {"comment": "b"}),
        organization_event("OrganizationUpdated", a, 1, at[7], **ACME | {"name": "old"}),
        license_event("LicenseUpdated", a, "lic-a1", 3, at[8], **SEATS | {"comment": "3"}),
        organization_event("OrganizationDeleted", b, 3, at[9]),
        license_event("LicenseDeleted", b, "lic-b1", 3, at[9]),
    ]
    offsets = {"org-events": 0, "license-events": 0}
    positioned = []
    for record in records:
        organization = isinstance(record, OrganizationEvent)
        topic = "org-events" if organization else "license-events"
        positioned.append(Positioned(record, topic, 0, offsets[topic]))
        offsets[topic] += 1
    return positioned


async def live(writer: ViewWriter, log: Sequence[Positioned[Event]]) -> None:
    """The live projectors' way into the first generation: each event in its own call."""
    for event in log:
        for model in READ_MODELS.values():
            if event.topic == topic_of(model.name) and isinstance(event.record, model.events.types):
                await writer.project(model.name, model.project([event]))


async def replayed(writer: ViewWriter, log: Sequence[Positioned[Event]], batch: int) -> None:
    """A replay's way into generation BUILT: batches of `batch` records, merged."""
    models = [(model, topic_of(model.name)) for model in READ_MODELS.values()]
    for start in range(0, len(log), batch):
        merge = BatchMerge(models)
        for record, topic, partition, offset in log[start : start + batch]:
            merge.add(record, topic, partition, offset)
        await writer.replay(BUILT, [(model, events) for model, events in merge.projected()])


async def differences(redis: RedisClient, keys: Keys) -> list[str]:
    found = []
    for model in MODELS:
        found += await compare(redis, keys.base, model, FIRST_GENERATION, BUILT)
    return [f"{d.model} {d.key}: {d.live!r} != {d.rebuilt!r}" for d in found]


@pytest.mark.parametrize("batch", [1, 2, 3, 5, 100])
async def test_merged_batches_leave_what_events_one_by_one_leave(
    redis: RedisClient, keys: Keys, batch: int
) -> None:
    writer = ViewWriter(redis, keys.base)
    await live(writer, log())

    await replayed(writer, log(), batch)

    assert await differences(redis, keys) == []


@pytest.mark.parametrize("already", [3, 6, 9])
async def test_a_merged_batch_over_events_the_generation_already_has_changes_nothing_twice(
    redis: RedisClient, keys: Keys, already: int
) -> None:
    writer = ViewWriter(redis, keys.base)
    await live(writer, log())
    # The first events of each partition reached the built generation one by one (the
    # live projector after a handover), then a replay's batch holding them comes.
    for event in log()[:already]:
        for model in READ_MODELS.values():
            if event.topic == topic_of(model.name) and isinstance(event.record, model.events.types):
                await writer.replay(BUILT, [(model.name, model.project([event]))])

    await replayed(writer, log(), 100)

    assert await differences(redis, keys) == []
