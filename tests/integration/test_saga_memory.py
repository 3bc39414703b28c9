"""The cascade-delete saga's memory on a real Redis and on the Redis Cluster: many
organizations (each its own slot) stored and loaded in one round trip."""

import pytest

from ostock.sagas.cascade_delete import OrganizationMemory
from ostock.views.client import RedisClient
from ostock.views.keys import Keys
from streams.saga_memory import SagaMemories
from streams.saga_reactions import Tracked

pytestmark = [pytest.mark.integration, pytest.mark.both_redis]


async def test_what_a_batch_taught_about_many_organizations_is_loaded_back(
    redis: RedisClient, keys: Keys
) -> None:
    memories = SagaMemories(redis, keys)
    organizations = [f"org-{n}" for n in range(20)]
    tracked = {}
    for n, organization_id in enumerate(organizations):
        tracked[organization_id] = Tracked(OrganizationMemory())
        tracked[organization_id].advance(OrganizationMemory(frozenset({f"lic-{n}", "shared"})))
        if n % 2:  # deleted, its licenses gone
            tracked[organization_id].advance(OrganizationMemory(frozenset(), f"del-{n}", f"c-{n}"))

    await memories.store(tracked)
    loaded = await memories.load([*organizations, "unseen"])

    for n, organization_id in enumerate(organizations):
        if n % 2:
            assert loaded[organization_id] == OrganizationMemory(frozenset(), f"del-{n}", f"c-{n}")
        else:
            assert loaded[organization_id].live_licenses == {f"lic-{n}", "shared"}
    assert loaded["unseen"] == OrganizationMemory()
