"""The Redis Functions library of read-models/ (ostock.lua): loading it and its function names."""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

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


async def fcalls(
    redis: "Redis | RedisCluster", calls: Sequence[tuple[Any, ...]], raise_on_error: bool = True
) -> list[Any]:
    """The answers of `calls` (each function, number of keys, keys, args), sent in one
    pipeline: one round trip per node. On a cluster each call goes to the node of its first
    key: asked to route it, redis-py would ask the server for its keys first (COMMAND
    GETKEYS, a round trip per call: FCALL's keys are movable)."""
    if isinstance(redis, RedisCluster):
        await redis.initialize()  # the slots' nodes known (once)
    async with redis.pipeline(transaction=False) as pipe:
        for function, numkeys, *keys_and_args in calls:
            if isinstance(redis, RedisCluster) and numkeys:
                node = redis.get_node_from_key(keys_and_args[0])
                pipe.execute_command("FCALL", function, numkeys, *keys_and_args, target_nodes=node)
            else:
                pipe.fcall(function, numkeys, *keys_and_args)
        answers: list[Any] = await pipe.execute(raise_on_error=raise_on_error)
    return answers
