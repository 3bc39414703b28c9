"""A circuit breaker per dependency (Kafka, Redis): while one is down, calls fail at once.

Closed, every call goes through; `failures` consecutive failures (timeouts, refused
connections) open it. Open, calls are refused with a 503 problem without touching the
dependency, and once `open_s` has passed the first refused call starts a check of it
in the background (the half-open state of Resilience4j, with a reachability check in
place of a real call, so no request waits for a dependency that is probably down):
if it answers the circuit closes, else it stays open for another `open_s`.

The adapter that calls the dependency reads `open` before each call and `failures`
after a success, and reports failures: a closed circuit costs those two attribute reads.
"""

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress

from api.problems import Problem
from ostock.settings import Settings

Check = Callable[[], Awaitable[bool]]
_log = logging.getLogger(__name__)


class CircuitOpen(Problem):
    """A call refused because its dependency's circuit is open; answered as 503."""

    def __init__(self, dependency: str, retry_after_s: int) -> None:
        super().__init__(
            503,
            f"{dependency} is unavailable; calls to it are refused until it answers a check "
            f"again, the next within {retry_after_s}s.",
            {"Retry-After": str(retry_after_s)},
        )


class Breaker:
    """The circuit of one dependency; `check` tells whether it answers, without raising."""

    def __init__(
        self,
        dependency: str,
        failures: int,
        open_s: float,
        check: Check,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.dependency = dependency
        self.open = False
        self.failures = 0
        self._threshold = failures
        self._open_s = open_s
        self._check = check
        self._clock = clock
        self._check_at = 0.0
        self._checking: asyncio.Task[None] | None = None

    @classmethod
    def configured(cls, dependency: str, settings: Settings, check: Check) -> "Breaker":
        """A breaker with the threshold and open interval of `settings`."""
        return cls(dependency, settings.circuit_failures, settings.circuit_open_s, check)

    def failed(self, error: object) -> None:
        """A call failed; the one that makes `failures` in a row opens the circuit."""
        if self.open:  # calls that began before it opened: already counted enough
            return
        self.failures += 1
        if self.failures >= self._threshold:
            self.open = True
            self._check_at = self._clock() + self._open_s
            _log.warning(
                "%s circuit open after %d failures in a row (last: %s): calls get 503 at "
                "once until a check, due every %.1fs, is answered",
                self.dependency,
                self.failures,
                error,
                self._open_s,
            )

    def succeeded(self) -> None:
        """A call succeeded: the failures before it no longer count."""
        if not self.open:  # a late success of a call begun before it opened proves little
            self.failures = 0

    def refuse(self) -> CircuitOpen:
        """The problem for a call refused while open (it starts a check when one is due)."""
        self.check_when_due()
        if self._checking is not None:
            return CircuitOpen(self.dependency, 1)
        return CircuitOpen(self.dependency, max(1, math.ceil(self._check_at - self._clock())))

    def check_when_due(self) -> None:
        """Start the check in the background once the open interval has passed, unless one
        runs: readiness probes call this too, so an open circuit closes without traffic."""
        if self._checking is None and self.open and self._clock() >= self._check_at:
            self._checking = asyncio.get_running_loop().create_task(self._recover())

    async def aclose(self) -> None:
        """Stop a check under way: it must not outlive the client it checks."""
        checking = self._checking
        if checking is not None:
            checking.cancel()
            with suppress(asyncio.CancelledError):
                await checking

    async def _recover(self) -> None:
        try:
            answers = await self._check()
        except Exception:  # a check answers False on the dependency's errors: this is a bug
            _log.exception("%s circuit: its check failed", self.dependency)
            answers = False
        finally:
            self._checking = None
        if answers:
            self.open = False
            self.failures = 0
            _log.info("%s circuit closed: it answers again", self.dependency)
        else:
            self._check_at = self._clock() + self._open_s
