"""The Redis Functions library of read-models/ (ostock.lua): loading it and its function names."""

from pathlib import Path

from redis.asyncio import Redis, RedisCluster

LIBRARY = Path(__file__).resolve().parents[2] / "read-models" / "ostock.lua"

PROJECT = "ostock_project"
REPLAY = "ostock_replay"
REPLAY_BEGIN = "ostock_replay_begin"
REPLAY_HANDOVER = "ostock_replay_handover"
REPLAY_SWITCH = "ostock_replay_switch"
REPLAY_END = "ostock_replay_end"
# The writes of a projected event, by the name that starts each write's args.
VIEW_WRITE = "view"
LISTED_WRITE = "listed"
HISTORY_WRITE = "history"
COMMAND_PENDING = "ostock_command_pending"
COMMAND_DECIDED = "ostock_command_decided"


async def load_functions(redis: "Redis | RedisCluster", library: Path = LIBRARY) -> None:
    """Load (or replace) the library: idempotent, so every projector does it when it starts."""
    await redis.function_load(library.read_text(), replace=True)
