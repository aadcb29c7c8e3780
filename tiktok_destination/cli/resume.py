"""``send --resume``: which input lines an earlier run's outcomes file already finished.

A line is finished when its latest record is ``delivered``, ``rejected``, ``skipped`` or
``invalid`` and that record's ``line_hash`` is the hash of the line read now: a line that
changed since (a new file under the same name, an edited line) is sent, whatever its number
says. A ``failed`` or ``sending`` line, one with no record, or one whose record carries no hash
(an older version wrote it) is sent again.

Memory grows with the lines recorded, not with the largest line number: the statuses and
hashes are kept in blocks of ``BLOCK`` lines, made only for the lines that have records (about
ten bytes a line for a whole file of millions of records).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import IO

from tiktok_destination.cli.event_files import LINE_HASH_BYTES

FINISHED = ("delivered", "rejected", "skipped", "invalid")
CHANGED = "changed"
"""``Finished.lookup`` of a line finished with other content than the line read now."""
MAX_LINE = 2**63 - 1
"""Line numbers above this are taken as damage, not as lines (no input has that many)."""
BLOCK = 64
"""Lines kept together: a status byte each, then a hash each."""
_CODES = {status: code for code, status in enumerate(FINISHED, start=1)}
_HASHES_AT = BLOCK
_BLOCK_BYTES = BLOCK * (1 + LINE_HASH_BYTES)


@dataclass
class Finished:
    """The finished lines of an outcomes file, and how many records could not be read."""

    blocks: dict[int, bytearray] = field(default_factory=dict)
    """Per ``line // BLOCK``: the status code of each line (0: send it), then its hash."""
    unreadable: int = 0

    def __bool__(self) -> bool:
        return bool(self.blocks)

    def lookup(self, line: int, line_hash: str | None) -> str | None:
        """The finished status of ``line`` when its content is the one recorded; ``CHANGED``
        when it was finished with other content; ``None`` when it was not finished."""
        block = self.blocks.get(line // BLOCK)
        if block is None:
            return None
        at = line % BLOCK
        code = block[at]
        if not code:
            return None
        start = _HASHES_AT + at * LINE_HASH_BYTES
        recorded = bytes(block[start : start + LINE_HASH_BYTES])
        if line_hash is None or recorded.hex() != line_hash:
            return CHANGED
        return FINISHED[code - 1]

    def _set(self, line: int, code: int, digest: bytes) -> None:
        block = self.blocks.get(line // BLOCK)
        if block is None:
            if not code:
                return  # nothing to remember: no record means "send it" already
            block = self.blocks[line // BLOCK] = bytearray(_BLOCK_BYTES)
        at = line % BLOCK
        block[at] = code
        start = _HASHES_AT + at * LINE_HASH_BYTES
        block[start : start + LINE_HASH_BYTES] = digest


def _digest(value: object) -> bytes | None:
    """The bytes of a recorded ``line_hash``, or ``None`` when it is not one."""
    if not isinstance(value, str) or len(value) != 2 * LINE_HASH_BYTES:
        return None
    try:
        return bytes.fromhex(value)
    except ValueError:
        return None


def read_finished(stream: IO[bytes]) -> Finished:
    """The lines the outcomes file ``stream`` records as finished."""
    finished = Finished()
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
        digest = _digest(entry.get("line_hash"))
        code = _CODES.get(status, 0) if digest is not None else 0
        finished._set(line, code, digest or bytes(LINE_HASH_BYTES))
    return finished
