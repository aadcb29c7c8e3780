"""The ``--outcomes`` file of ``send``: one JSON line per record, each written whole or not at all.

A record is ``{"line", "line_hash", "event_id", "status", "code", "message", "request_id"}``
(``line_hash``: see ``records.line_hash``). Before a batch
is posted, each of its events gets a ``sending`` record, so after a crash (even ``kill -9``) the
file never under-reports: a line whose latest record is ``sending`` may have reached TikTok, and
sending it again is safe (TikTok deduplicates on ``event_id``). Records are written with one
system call per group and no buffer in between; when the disk is full, what was half written is
cut off again and ``OutcomesNotWritten`` says so.

Only a regular file is taken (a FIFO would block the run, a device is not a record), and only
by one run at a time: the file is locked (``flock``) while a run writes it, and a second run is
refused before it touches the file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
from collections.abc import Iterable
from json.encoder import encode_basestring  # what json.dumps(ensure_ascii=False) uses
from typing import IO, Any

from tiktok_destination.cli.exits import UsageError

SENDING = "sending"
SENDING_MESSAGE = "posting to TikTok; no answer recorded yet"


class OutcomesNotWritten(Exception):
    """The outcomes file could not be written (a full disk, say)."""

    def __init__(self, path: str, error: OSError) -> None:
        super().__init__(f"cannot write the outcomes to {path} ({error.strerror or error})")


Named = tuple[int, Any, "str | None"]
"""What a record names: the input line, the ``event_id``, the ``line_hash``."""


def record(
    line: int,
    event_id: Any,
    status: str,
    message: str,
    code: int | None = None,
    request_id: str | None = None,
    *,
    line_hash: str | None = None,
) -> dict[str, Any]:
    return {
        "line": line,
        "line_hash": line_hash,
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


def record_heads(events: Iterable[Named]) -> list[str]:
    """What the records of each ``(line, event_id, line_hash)`` event start with, whatever its
    outcome: made once for an event that gets several records (``sending``, then its outcome)."""
    return [
        f'{{"line": {line:d}, "line_hash": {_json(lh)}, "event_id": {_json(eid)}'
        for line, eid, lh in events
    ]


def records_from_heads(
    heads: list[str],
    status: str,
    message: str,
    code: int | None = None,
    request_id: str | None = None,
) -> str:
    """The records of the events whose ``record_heads`` are ``heads``, sharing one outcome, as
    JSON Lines (the shared part encoded once)."""
    tail = (
        f', "status": {_json(status)}, "code": {_json(code)}, "message": {_json(message)}, '
        f'"request_id": {_json(request_id)}}}\n'
    )
    return tail.join(heads) + tail if heads else ""


def record_lines(
    events: Iterable[Named],
    status: str,
    message: str,
    code: int | None = None,
    request_id: str | None = None,
) -> str:
    """The records of ``(line, event_id, line_hash)`` events sharing one outcome, as JSON Lines:
    the text ``json.dumps`` gives each ``record``, with the shared part encoded once."""
    return records_from_heads(record_heads(events), status, message, code, request_id)


class OutcomeLog:
    """An outcomes file opened for writing (``append`` keeps what it holds: ``--resume``).

    Raises ``UsageError`` (one line naming the file) when ``path`` is not a regular file, is
    held by another run, or cannot be opened; nothing is truncated before the lock is held."""

    def __init__(self, path: str, *, append: bool) -> None:
        self.path = path
        _refuse_unless_regular(path, _stat_or_none(path))
        flags = os.O_CREAT | os.O_APPEND | os.O_NONBLOCK | os.O_CLOEXEC  # a FIFO never blocks
        try:
            self._fd = os.open(path, flags | (os.O_RDWR if append else os.O_WRONLY), 0o644)
        except OSError as error:
            raise UsageError(f"--outcomes {path}: cannot write ({error.strerror})") from None
        try:
            _refuse_unless_regular(path, os.fstat(self._fd))  # swapped since the check
            os.set_blocking(self._fd, True)
            self._lock()
            if append:
                self._end_last_line()
            else:
                os.ftruncate(self._fd, 0)
        except BaseException:
            os.close(self._fd)
            raise

    def _lock(self) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(
                f"--outcomes {self.path}: another run is writing it (locked); wait for it to end "
                "or name another file"
            ) from None
        except OSError:
            pass  # a file system without locks: written as before

    def read_back(self) -> IO[bytes]:
        """The file from its start, for reading (``append`` only); the caller closes it."""
        stream = open(os.dup(self._fd), "rb")  # noqa: SIM115 (the caller closes it)
        stream.seek(0)
        return stream

    def _end_last_line(self) -> None:
        """After a crash the last line may lack its newline: end it, so appends stay lines."""
        try:
            size = os.fstat(self._fd).st_size
            if size and os.pread(self._fd, 1, size - 1) != b"\n":
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


def _stat_or_none(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None  # not there yet (or not reachable: opening it says why)


def _refuse_unless_regular(path: str, status: os.stat_result | None) -> None:
    if status is not None and not stat.S_ISREG(status.st_mode):
        raise UsageError(
            f"--outcomes {path}: not a regular file (a FIFO, a directory or a device); name a file"
        )
