"""The command handler's commits, one at a time, in a thread of their own while the loop
decides the next batch, and each bounded: librdkafka's send_offsets_to_transaction can
block past its own timeout while the group coordinator is away (librdkafka#5456), so a
commit that outlives its deadline is given up and its thread left behind (a daemon: it
cannot hold the process up at exit); a new thread takes the commits after it."""

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, wait

from confluent_kafka import Message

#: A commit to run and the future it settles.
Job = tuple[Callable[[], None], "Future[None]"]


class CommitStuck(TimeoutError):
    """A commit did not end within its deadline; whether it took effect is unknown until
    the transactional id is taken over again."""


class Committer:
    """Runs a batch's commit in the background; `wait` ends it, bounded."""

    def __init__(self, name: str, deadline_s: float) -> None:
        self.name = name
        self.deadline_s = deadline_s
        self._commit: Future[None] | None = None
        self._started = 0.0
        #: The batch of the commit in flight.
        self.batch: Sequence[Message] = ()
        self._jobs = self._worker()

    def _worker(self) -> "queue.SimpleQueue[Job]":
        """A new committer thread; the queue it takes its commits from."""
        jobs: queue.SimpleQueue[Job] = queue.SimpleQueue()

        def run() -> None:
            while True:
                commit, future = jobs.get()
                try:
                    commit()
                except BaseException as error:
                    future.set_exception(error)
                else:
                    future.set_result(None)

        threading.Thread(target=run, name=self.name, daemon=True).start()
        return jobs

    def submit(self, commit: Callable[[], None], batch: Sequence[Message]) -> None:
        """Start `commit` of `batch`; the one before must have been waited for."""
        assert self._commit is None, "a commit is still in flight"
        future: Future[None] = Future()
        self._commit, self.batch, self._started = future, batch, time.monotonic()
        self._jobs.put((commit, future))

    def in_flight(self) -> bool:
        """Whether a commit runs and has time left."""
        return (
            self._commit is not None
            and not self._commit.done()
            and time.monotonic() - self._started < self.deadline_s
        )

    def wait(self) -> tuple[Sequence[Message], BaseException | None]:
        """Wait for the commit in flight to end, at most until its deadline: its batch,
        and its failure (CommitStuck past the deadline) or None."""
        commit, batch = self._commit, self.batch
        self._commit, self.batch = None, ()
        if commit is None:
            return batch, None
        left = self.deadline_s - (time.monotonic() - self._started)
        if not wait([commit], timeout=max(left, 0)).done:
            self._jobs = self._worker()  # the stuck one may never take another
            return batch, CommitStuck(f"commit not ended in {self.deadline_s:.0f}s")
        return batch, commit.exception()
