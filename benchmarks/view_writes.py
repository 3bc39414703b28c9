"""The read side's writes on the Redis that OSTOCK_REDIS_URL names, one Redis or a Redis
Cluster: a live projector's events/s through ViewWriter.project (batches of 500, each
event an organization's view and history entry, every organization its own slot: on a
cluster the worst case of the per-slot calls), and the seconds a replay's begin and end
take (every shard's generations record, then the readers').

    python -m benchmarks.view_writes [EVENTS]
"""

import asyncio
import sys
import time
from uuid import uuid4

import orjson

from ostock.settings import Settings
from ostock.views import keys
from ostock.views.client import redis_client
from ostock.views.functions import load_functions
from ostock.views.generations import begin, end, new_generation
from ostock.views.projection import HistoryEntry, Projected, ViewUpdate
from ostock.views.writer import ViewWriter

BATCH = 500
BODY = orjson.dumps({"name": "Acme", "version": 1, "created_at": "2024-01-01T00:00:00.000Z"})


def batches(events: int) -> list[list[Projected]]:
    """`events` creations of distinct organizations, BATCH at a time."""
    return [
        [
            Projected(
                f"events:{n % 3}",
                n,
                (
                    ViewUpdate(keys.organization(f"o{n}"), 1, BODY),
                    HistoryEntry(keys.organization_history(f"o{n}"), 1, b"entry"),
                ),
            )
            for n in range(start, min(start + BATCH, events))
        ]
        for start in range(0, events, BATCH)
    ]


async def main(events: int) -> None:
    settings = Settings()
    base = f"bench-writes-{uuid4().hex[:6]}"
    async with redis_client(settings) as redis:
        await load_functions(redis)
        writer = ViewWriter(redis, base)
        work = batches(events)
        started = time.perf_counter()
        for batch in work:
            await writer.project(keys.ORGANIZATIONS, batch)
        took = time.perf_counter() - started
        print(f"{settings.redis_url}: projected {events} events: {events / took:,.0f} events/s")
        started = time.perf_counter()
        await begin(redis, base, new_generation(), list(keys.MODELS))
        began = time.perf_counter()
        await end(redis, base, list(keys.MODELS))
        print(f"replay begin {began - started:.2f}s, end {time.perf_counter() - began:.2f}s")
        async for key in redis.scan_iter(match=f"{base}:*", count=1000):
            await redis.unlink(key)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000))
