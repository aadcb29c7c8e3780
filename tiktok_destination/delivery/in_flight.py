"""Requests in flight at once (``max_concurrent_requests``): how many, and the threads that send.

- ``InFlight`` lets one request at a time go until TikTok has accepted one, then up to ``most``;
  after an answer to retry (throttling, an outage) one at a time again until TikTok accepts a
  request. So the first request of a run goes alone (a refused token stops after one request),
  and a throttled TikTok sees one request at a time.
- ``Workers`` runs jobs on a few daemon threads that never take Ctrl-C or SIGTERM (the main
  thread does, and it may hold them back while it records an outcome), and that never keep a
  stopping process waiting.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from types import TracebackType
from typing import Any, TypeVar

from tiktok_destination import signals

T = TypeVar("T")


class InFlight:
    """Slots for requests: one until TikTok accepts a request, then ``most``."""

    def __init__(self, most: int) -> None:
        self.most = most
        self._busy = 0
        self._wide = False
        self._changed = threading.Condition()

    @property
    def limit(self) -> int:
        """How many requests may be in flight now."""
        return self.most if self._wide else 1

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Wait for a free slot, hold it for one request."""
        with self._changed:
            while self._busy >= self.limit:
                self._changed.wait()
            self._busy += 1
        try:
            yield
        finally:
            with self._changed:
                self._busy -= 1
                self._changed.notify_all()

    def answered(self, accepted: bool) -> None:
        """TikTok answered a request: ``accepted`` opens every slot, an answer to retry closes
        all but one. Called while holding the request's slot."""
        with self._changed:
            self._wide = accepted
            self._changed.notify_all()


class Workers:
    """``count`` daemon threads running submitted jobs in turn; use as a context manager."""

    def __init__(self, count: int, name: str) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{n}", daemon=True)
            for n in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def _work(self) -> None:
        signals.block_in_this_thread()
        while True:
            job = self._jobs.get()
            if job is None:
                return
            run, future = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(run())
                except BaseException as error:  # handed to whoever waits for the result
                    future.set_exception(error)

    def submit(self, run: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        self._jobs.put((run, future))
        return future

    def close(self) -> None:
        """Let the threads end after the jobs already submitted; does not wait for them."""
        for _ in self._threads:
            self._jobs.put(None)

    def __enter__(self) -> Workers:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
