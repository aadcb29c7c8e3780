"""One thread that shuts the socket of every HTTP exchange whose time is up, for all of them.

``bounded_http.post`` bounds an exchange as a whole: ``WATCHDOG.watch(seconds)`` gives the
exchange a ``Watch`` with its own deadline, the connection ``attach``-es its socket, and
``finish`` ends the watch. When a deadline passes before ``finish``, the watchdog shuts that
exchange's socket (a blocked read in the exchange's thread wakes up) and marks it ``expired``.

One daemon thread serves every exchange of the process: it sleeps until the earliest deadline
(a heap; ``IDLE_S`` at most), so an exchange costs a heap entry, not a thread, and ``finish``
wakes nobody. A finished watch is never expired, and its socket (which may serve a later
exchange, kept alive) is forgotten at ``finish``; finished watches leave the heap when a new
watch comes or the thread wakes. The thread ends after ``IDLE_S`` with nothing to watch and
starts again with the next exchange; a forked child starts with a watchdog of its own (the
parent's thread is not in the child).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable

from tiktok_destination import signals

IDLE_S = 5.0
"""Seconds the thread waits with nothing to watch before it ends (a stream flushing every
``batching.MAX_WAIT_S`` keeps the same thread)."""
THREAD_NAME = "http-watchdog"
FORGET_AT = 64
"""Watches in the heap from which the thread, when it wakes, forgets every finished one."""


class Watch:
    """The deadline of one exchange: when it passes before ``finish``, the socket is shut."""

    __slots__ = ("_done", "_lock", "_sock", "expired")

    def __init__(self) -> None:
        self.expired = False
        """The deadline passed before ``finish`` (or the exchange saw it pass itself)."""
        self._done = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    def attach(self, sock: socket.socket | None) -> None:
        """The socket this exchange uses now (called in the exchange's thread)."""
        with self._lock:
            if self._done:
                return
            self._sock = sock
            if self.expired and sock is not None:
                _shut(sock)

    def finish(self) -> None:
        """The exchange is over: its deadline shuts nothing any more."""
        with self._lock:
            self._done = True
            self._sock = None

    @property
    def done(self) -> bool:
        return self._done

    def expire(self) -> None:
        """The deadline passed (called by the watchdog): shut the socket, unless finished."""
        with self._lock:
            if self._done:
                return
            self.expired = True
            if self._sock is not None:
                _shut(self._sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)  # wakes a blocked read in the exchange


class Watchdog:
    """The deadlines of every exchange being watched, and the one thread that keeps them."""

    def __init__(self, idle_s: float = IDLE_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_s = idle_s
        self._clock = clock
        self._changed = threading.Condition()
        self._due: list[tuple[float, int, Watch]] = []
        """A heap: (deadline, order of arrival, watch)."""
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, seconds: float) -> Watch:
        """A watch whose socket is shut ``seconds`` from now unless it finishes first."""
        watch = Watch()
        entry = (self._clock() + seconds, next(self._order), watch)
        with self._changed:
            due = self._due
            while due and due[0][2].done:  # finished ones at the front: forgotten now
                heapq.heappop(due)
            heapq.heappush(due, entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._keep, name=THREAD_NAME, daemon=True)
                self._thread.start()
            elif due[0] is entry:  # sooner than what the thread sleeps until
                self._changed.notify()
        return watch

    def watching(self) -> int:
        """Watches not yet forgotten (finished ones are forgotten lazily)."""
        with self._changed:
            return len(self._due)

    @property
    def thread(self) -> threading.Thread | None:
        """The thread keeping the deadlines, while there is one."""
        return self._thread

    def _keep(self) -> None:
        signals.block_in_this_thread()
        with self._changed:
            idle_since: float | None = None
            while True:
                now = self._clock()
                self._expire_due(now)
                if self._due:
                    idle_since = None
                    self._changed.wait(min(self._due[0][0] - now, self.idle_s))
                    continue
                idle_since = now if idle_since is None else idle_since
                if now - idle_since >= self.idle_s:
                    self._thread = None  # the next watch starts another thread
                    return
                self._changed.wait(self.idle_s - (now - idle_since))

    def _expire_due(self, now: float) -> None:
        """Expire the watches whose deadline passed, forget the finished ones (holding the lock).

        Finished watches behind a running one are forgotten when there are many of them, so the
        heap holds about the exchanges of the last ``idle_s`` at most."""
        due = self._due
        while due and (due[0][2].done or due[0][0] <= now):
            heapq.heappop(due)[2].expire()  # (a finished one shuts nothing)
        if len(due) > FORGET_AT:
            due[:] = [entry for entry in due if not entry[2].done]
            heapq.heapify(due)

    def _after_fork_in_child(self) -> None:
        """The parent's thread is not in this process, and its lock may have been held."""
        self._changed = threading.Condition()
        self._due = []
        self._thread = None


WATCHDOG = Watchdog()
"""The process's one watchdog."""
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=WATCHDOG._after_fork_in_child)
