"""Retrying a write until it succeeds: a projector never skips a record it could not apply."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_DELAY_S = 0.1
MAX_DELAY_S = 5.0


def never(error: Exception) -> bool:
    return False


async def until_done(
    action: Callable[[], Awaitable[T]],
    what: str,
    give_up: Callable[[Exception], bool] = never,
) -> T:
    """Run `action` until it returns, backing off exponentially between attempts.

    Every failure is retried, not only connection errors, unless `give_up` says it will
    never go away (it is raised then): skipping a record would lose it for good, while a
    failure that does not go away holds the partition, which the logs and the consumer
    lag show.
    """
    delay = FIRST_DELAY_S
    while True:
        try:
            return await action()
        except Exception as error:
            if give_up(error):
                raise
            log.warning("%s failed, retrying in %.1fs: %r", what, delay, error)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_DELAY_S)
