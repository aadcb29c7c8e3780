"""Ctrl-C (SIGINT) and SIGTERM for the command line: both stop a run cleanly, never mid-record.

``handling_stops()`` installs the handlers for the time of a command, whatever the process
inherited: a shell starts background jobs (``send ... &``) with SIGINT *ignored*, and Python
then never raises ``KeyboardInterrupt``, so without this a run could not be stopped by SIGINT.
The handler raises ``Stopped`` (a ``KeyboardInterrupt``), except inside ``held()``: there the
signal is remembered and raised when the block ends, so an outcome is never half written and
a batch is never posted without its records. Exit codes: 128 + the signal's number.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(KeyboardInterrupt):
    """The run was stopped by ``signum``."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def exit_code(stop: KeyboardInterrupt) -> int:
    """130 for Ctrl-C (also a bare ``KeyboardInterrupt``), 143 for SIGTERM."""
    return 128 + getattr(stop, "signum", signal.SIGINT)


class _State:
    held = 0
    pending: int | None = None


_state = _State()


def _handler(signum: int, _frame: FrameType | None) -> None:
    if _state.held:
        _state.pending = _state.pending or signum
        return
    raise Stopped(signum)


@contextmanager
def handling_stops() -> Iterator[None]:
    """SIGINT and SIGTERM raise ``Stopped`` in this block (main thread only; else nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _handler) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _state.pending = None


@contextmanager
def held() -> Iterator[None]:
    """A stop signal arriving in this block takes effect when the block ends."""
    _state.held += 1
    try:
        yield
    finally:
        _state.held -= 1
        if not _state.held and _state.pending is not None:
            signum, _state.pending = _state.pending, None
            raise Stopped(signum)


def block_in_this_thread() -> None:
    """For helper threads: stop signals go to the main thread, which holds them while recording."""
    signal.pthread_sigmask(signal.SIG_BLOCK, set(STOP_SIGNALS))
