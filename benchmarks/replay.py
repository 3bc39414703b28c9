"""Replay: events/s of `ostock replay` rebuilding every view from logs of growing size, and
its peak RSS, beside reading and decoding the same log with no writes.

The log lives in event topics of its own, read models under a key base of their own, so
the pipeline's events are not part of it; it grows from one size to the next
(benchmarks.eventlog), and each size is replayed as it stands.
"""

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from redis import Redis

from benchmarks.processes import settings_env
from ostock.settings import Settings
from ostock.views.functions import LIBRARY

CHILD_TIMEOUT_S = 1800.0


def replay_settings(settings: Settings) -> Settings:
    """`settings` with event topics and a key base of the replay benchmark's own."""
    topics = settings.topics.model_copy(
        update={
            "organization_events": "bench-replay.organization.events",
            "license_events": "bench-replay.license.events",
        }
    )
    return settings.model_copy(
        update={"topics": topics, "redis_prefix": f"{settings.redis_prefix}-replay"}
    )


def load_library(settings: Settings) -> None:
    """Load read-models/ostock.lua, as every live projector does when it starts: `ostock
    replay` expects it there."""
    with Redis.from_url(settings.redis_url) as redis:
        redis.function_load(LIBRARY.read_text(), replace=True)


def child(
    settings: Settings, mode: str, log: Path, progress: Callable[[str], None]
) -> dict[str, Any]:
    """benchmarks.replay_child `mode` ("rebuild" or "decode") on `settings`' log; its
    summary. Its progress lines are passed on."""
    env = settings_env(settings)
    args = [sys.executable, "-m", "benchmarks.replay_child", mode]
    last = ""
    with log.open("ab") as errors:
        process = subprocess.Popen(
            args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert process.stderr is not None and process.stdout is not None
        for line in process.stderr:
            errors.write(line.encode())
            if line.startswith("  ") and line.strip().endswith(" events"):
                progress(line.rstrip())
            elif line.strip():
                last = line.strip()
        out = process.stdout.read()
        if process.wait(CHILD_TIMEOUT_S) != 0:
            raise RuntimeError(f"exit {process.returncode}, {last}")
    result: dict[str, Any] = json.loads(out)
    return result
