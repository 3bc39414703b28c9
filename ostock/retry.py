"""Retrying a write until it succeeds: a projector never skips a record it could not
apply, and a replay rides out a slow or restarting Redis."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.exceptions import ResponseError

log = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_DELAY_S = 0.1
MAX_DELAY_S = 5.0


def never(error: Exception) -> bool:
    return False


def refused(error: Exception) -> bool:
    """Whether Redis refused a call for what it holds (a function's error reply): the
    same call would be refused again. Its subclasses (no permission, out of memory,
    read-only replica, ...) and connection errors may go away, and are retried."""
    return type(error) is ResponseError


async def until_done(
    action: Callable[[], Awaitable[T]],
    what: str,
    give_up: Callable[[Exception], bool] = never,
    attempts: int | None = None,
) -> T:
    """Run `action` until it returns, backing off exponentially between attempts.

    Every failure is retried, not only connection errors, unless `give_up` says it will
    never go away or `attempts` are used up (it is raised then): skipping a record would
    lose it for good, while a failure that does not go away holds the partition, which
    the logs and the consumer lag show.
    """
    delay = FIRST_DELAY_S
    attempt = 0
    while True:
        attempt += 1
        try:
            return await action()
        except Exception as error:
            if give_up(error) or attempt == attempts:
                raise
            log.warning("%s failed, retrying in %.1fs: %r", what, delay, error)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_DELAY_S)
