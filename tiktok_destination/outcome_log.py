"""The ``--outcomes`` file of ``send``: one JSON line per record, each written whole or not at all.

A record is ``{"line", "event_id", "status", "code", "message", "request_id"}``. Before a batch
is posted, each of its events gets a ``sending`` record, so after a crash (even ``kill -9``) the
file never under-reports: a line whose latest record is ``sending`` may have reached TikTok, and
sending it again is safe (TikTok deduplicates on ``event_id``). Records are written with one
system call per group and no buffer in between; when the disk is full, what was half written is
cut off again and ``OutcomesNotWritten`` says so.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from json.encoder import encode_basestring  # what json.dumps(ensure_ascii=False) uses
from typing import Any

SENDING = "sending"
SENDING_MESSAGE = "posting to TikTok; no answer recorded yet"


class OutcomesNotWritten(Exception):
    """The outcomes file could not be written (a full disk, say)."""

    def __init__(self, path: str, error: OSError) -> None:
        super().__init__(f"cannot write the outcomes to {path} ({error.strerror or error})")


def record(
    line: int,
    event_id: Any,
    status: str,
    message: str,
    code: int | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    return {
        "line": line,
        "event_id": event_id,
        "status": status,
        "code": code,
        "message": message,
        "request_id": request_id,
    }


def _json(value: Any) -> str:
    """``value`` as ``json.dumps(value, ensure_ascii=False)`` writes it (strings the fast way)."""
    if type(value) is str:
        return str(encode_basestring(value))
    return json.dumps(value, ensure_ascii=False)


def record_lines(
    events: Iterable[tuple[int, Any]],
    status: str,
    message: str,
    code: int | None = None,
    request_id: str | None = None,
) -> str:
    """The records of ``(line, event_id)`` events sharing one outcome, as JSON Lines: the text
    ``json.dumps`` gives each ``record``, with the shared part encoded once."""
    tail = (
        f', "status": {_json(status)}, "code": {_json(code)}, "message": {_json(message)}, '
        f'"request_id": {_json(request_id)}}}\n'
    )
    return "".join([f'{{"line": {line:d}, "event_id": {_json(eid)}{tail}' for line, eid in events])


class OutcomeLog:
    """An outcomes file opened for writing (``append`` keeps what it holds: ``--resume``)."""

    def __init__(self, path: str, *, append: bool) -> None:
        self.path = path
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
        self._fd = os.open(path, flags, 0o644)
        if append:
            self._end_last_line()

    def _end_last_line(self) -> None:
        """After a crash the last line may lack its newline: end it, so appends stay lines."""
        try:
            size = os.fstat(self._fd).st_size
            if size:
                with open(self.path, "rb") as stream:
                    stream.seek(size - 1)
                    if stream.read(1) != b"\n":
                        self.write_raw(b"\n")
        except OSError:
            pass

    def write(self, records: list[dict[str, Any]]) -> None:
        """Append ``records``, all of them or (on an error) none."""
        if records:
            self.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))

    def write_text(self, text: str) -> None:
        """Append records already written as JSON Lines (``record_lines``), all or none."""
        if text:
            self.write_raw(text.encode("utf-8", "backslashreplace"))

    def write_raw(self, data: bytes) -> None:
        try:
            start: int | None = os.lseek(self._fd, 0, os.SEEK_END)
        except OSError:  # a pipe
            start = None
        written = 0
        try:
            while written < len(data):
                written += os.write(self._fd, data[written:])
        except OSError as error:
            if written and start is not None:
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, start)
            raise OutcomesNotWritten(self.path, error) from None

    def close(self) -> None:
        os.close(self._fd)
