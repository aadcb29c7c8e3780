"""``send --resume``: which input lines an earlier run's outcomes file already finished.

A line is finished when its latest record is ``delivered``, ``rejected``, ``skipped`` or
``invalid``; a ``failed`` or ``sending`` line (or one with no record) is sent again. The
statuses are kept one byte per line, so a file of millions of records costs megabytes.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

FINISHED = ("delivered", "rejected", "skipped", "invalid")
MAX_LINE = 10**9
"""Line numbers above this are taken as damage, not as lines."""
_CODES = {status: code for code, status in enumerate(FINISHED, start=1)}


@dataclass
class Finished:
    """The finished lines of an outcomes file, and how many records could not be read."""

    statuses: bytearray = field(default_factory=bytearray)
    unreadable: int = 0

    def status(self, line: int) -> str | None:
        """The finished status of ``line``, or ``None`` when it must be sent (again)."""
        code = self.statuses[line] if 0 < line < len(self.statuses) else 0
        return FINISHED[code - 1] if code else None

    def counts(self) -> Counter[str]:
        counted = Counter(self.statuses)
        return Counter({status: counted[code] for status, code in _CODES.items()})


def read_finished(path: str) -> Finished:
    """The lines ``path`` records as finished; a missing file finishes nothing."""
    finished = Finished()
    try:
        stream = open(path, "rb")  # noqa: SIM115 (closed by the with below)
    except FileNotFoundError:
        return finished
    with stream:
        for raw in stream:
            try:
                entry = json.loads(raw)
                line, status = entry["line"], entry["status"]
            except (ValueError, TypeError, KeyError, RecursionError):
                finished.unreadable += bool(raw.strip())
                continue
            if not isinstance(line, int) or isinstance(line, bool) or not 0 < line <= MAX_LINE:
                finished.unreadable += 1
                continue
            if line >= len(finished.statuses):
                finished.statuses.extend(bytes(line + 1 - len(finished.statuses)))
            finished.statuses[line] = _CODES.get(status, 0)
    return finished
