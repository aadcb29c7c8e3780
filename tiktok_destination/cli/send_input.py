"""How ``send`` takes its input: input lines in chunks, each transformed with one call of the
batch hook (dispatch and settings lookup paid once a chunk).

A file never makes anyone wait: its lines go ``CHUNK`` at a time (``chunked``). A stream (stdin)
may pause, so its lines are read in a thread and handed over as they arrive, with an empty chunk
when none came for a while (``with_ticks``): an event never waits for others to fill a chunk.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from tiktok_destination import signals

InputLine = TypeVar("InputLine")
"""One input line as the reader gives it (``records.Record`` or ``records.HashedLine``)."""

CHUNK = 256
"""Input lines transformed at once; from a stream, at most (only the lines already arrived)."""
READ_AHEAD = 4 * CHUNK
"""Lines the reading thread of a stream gets ahead at most."""


def chunked(lines: Iterable[InputLine], size: int = CHUNK) -> Iterator[list[InputLine]]:
    """``lines`` (of a file: never waiting long) handed over ``size`` at a time."""
    chunk: list[InputLine] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def with_ticks(
    lines: Iterable[InputLine], every_s: float, size: int = CHUNK
) -> Iterator[list[InputLine]]:
    """``lines`` (of a stream that may pause) read in a thread and handed over as they come:
    the ones arrived so far (``size`` at most), or ``[]`` when none came for ``every_s``.

    The reading thread stays at most ``READ_AHEAD`` lines ahead, so memory stays flat when
    lines come faster than they are sent."""
    arrived: queue.Queue[Any] = queue.Queue(READ_AHEAD)
    done = object()

    def pump() -> None:
        signals.block_in_this_thread()
        try:
            for item in lines:
                arrived.put(item)
        except Exception as error:  # handed to the reading side, raised there
            arrived.put(error)
        finally:
            arrived.put(done)

    threading.Thread(target=pump, name="read-events", daemon=True).start()
    while True:
        try:
            item = arrived.get(timeout=every_s)
        except queue.Empty:
            yield []
            continue
        chunk: list[InputLine] = []
        while item is not done and not isinstance(item, Exception):
            chunk.append(item)
            if len(chunk) >= size:
                break
            try:
                item = arrived.get_nowait()
            except queue.Empty:
                break
        if chunk:
            yield chunk
        if item is done:
            return
        if isinstance(item, Exception):
            raise item
