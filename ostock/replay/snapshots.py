"""Snapshots: every read model as it stood at a moment, built by a replay that stops at
that moment's events, into a generation of its own that live readers never use; the API
serves one when a read names it (?snapshot=NAME)."""

from datetime import UTC, datetime

import orjson

from ostock.replay.rebuild import Progress, Replay, ReplayStats
from ostock.settings import Settings
from ostock.views.client import RedisClient
from ostock.views.generations import drop
from ostock.views.keys import MODELS, snapshot_generation, snapshots_key
from ostock.views.models import READ_MODELS


class SnapshotExists(Exception):
    """A snapshot of that name is already there: drop it first."""


async def take(
    settings: Settings, redis: RedisClient, name: str, until: datetime, progress: Progress
) -> ReplayStats:
    """Build snapshot `name` of every read model from the events up to `until`."""
    base = settings.redis_prefix
    if await redis.hexists(snapshots_key(base), name):
        raise SnapshotExists(f"snapshot {name!r} exists: drop it first")
    generation = snapshot_generation(name)
    replay = Replay(settings, redis, list(READ_MODELS.values()), generation, progress, until)
    try:
        await replay.to_end()
    except BaseException:
        await drop(redis, base, generation, MODELS)
        raise
    finally:
        replay.close()
    about = {
        "until": until.astimezone(UTC).isoformat(),
        "taken_at": datetime.now(UTC).isoformat(),
        "events": replay.stats.events,
    }
    await redis.hset(snapshots_key(base), name, orjson.dumps(about))
    return replay.stats


async def drop_snapshot(redis: RedisClient, base: str, name: str) -> bool:
    """Delete snapshot `name`; False if there was none."""
    if not await redis.hdel(snapshots_key(base), name):
        return False
    await drop(redis, base, snapshot_generation(name), MODELS)
    return True
