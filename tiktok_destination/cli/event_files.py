"""EventWalk events for the command line: JSON Lines or one JSON array, from a file or stdin.

Bytes in, records out: ``(line, event)``, where ``line`` is the 1-based line (or the element's
index in a JSON array, from 1) and ``event`` the parsed value, or a ``NotJson`` naming why it
could not be read: not UTF-8, not JSON, nested deeper than the JSON parser allows, or a lone
surrogate (``"\\ud800"``: no UTF-8 JSON can carry it). A bad line never stops the reading;
blank lines are passed over. Lines are read one at a time and an array element by element, so
memory stays flat however big the file. ``EventLines.position`` counts the bytes consumed.
``EventLines.hashed`` gives each record with its ``line_hash`` too: a short hash of the line's
bytes (the element's text in an array), by which ``send --resume`` knows a line it finished
from a line that only has the same number.
"""

from __future__ import annotations

import codecs
import hashlib
import itertools
import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

from tiktok_destination.cli.exits import UsageError
from tiktok_destination.transform.event_text import NotJson, check_unicode, parse_text

CHUNK = 1 << 16
"""Bytes asked for at a time while reading an array."""
READ_BUFFER = 1 << 20
"""Bytes a file of events is read by at a time: few system calls, so the threads sending
requests are seldom woken up in vain when the reading lets go of the interpreter."""
FIRST_LINE_LIMIT = 1 << 20
"""A file starting with ``[`` is JSON Lines when its first line (up to this size) is a whole
JSON value and more lines follow; otherwise it is one JSON array."""
_BOM = b"\xef\xbb\xbf"
_WHITESPACE = " \t\r\n"
_SCALAR = re.compile(r"[-+.0-9a-zA-Z]+")
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
"""A byte that is not UTF-8, as ``surrogateescape`` decodes it."""
NOT_UTF8 = "not UTF-8 (a byte sequence that is not UTF-8)"


ParsedLine = tuple[int, Any]
HashedLine = tuple[int, Any, str]
"""A record and its ``line_hash``."""
_Raw = tuple[int, Any, "bytes | str"]
"""A record and the bytes (or array text) it was read from."""
LINE_HASH_BYTES = 8
"""Bytes of the line hash (written as twice as many hex digits): two different lines share
one by chance once in 2**64."""


def line_hash(raw: bytes | str) -> str:
    """The ``line_hash`` of a line's bytes (line ending left out) or an array element's text."""
    data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
    return hashlib.blake2b(data.rstrip(b"\r\n"), digest_size=LINE_HASH_BYTES).hexdigest()


@contextmanager
def open_events(path: str | None) -> Iterator[IO[bytes]]:
    """The events file, or stdin for ``None`` and ``"-"``, as bytes."""
    if path in (None, "-"):
        try:  # a reader of its own: a thread blocked in it must not hold sys.stdin's lock
            own = open(sys.stdin.fileno(), "rb", closefd=False)  # noqa: SIM115
        except (AttributeError, OSError, ValueError):  # no file behind sys.stdin
            yield sys.stdin.buffer
            return
        yield own  # never closed here: a reading thread may still be blocked in it
        return
    try:
        stream = open(path, "rb", buffering=READ_BUFFER)  # noqa: SIM115 (closed below)
    except OSError as error:
        raise UsageError(f"{path}: cannot read events ({error.strerror})") from None
    with stream:
        yield stream


def read_lines(stream: IO[bytes]) -> Iterator[ParsedLine]:
    """Records in input order: the elements of a JSON array, or one per non-blank line."""
    return iter(EventLines(stream))


def _parse_line(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return NotJson(f"not UTF-8 ({error.reason} at byte {error.start + 1})")
    return parse_text(text)


def _skip_value(text: str, start: int) -> int | None:
    """Where the value starting at ``start`` ends, or ``None`` if it does not end in ``text``."""
    if text[start] not in "[{":
        scalar = _SCALAR.match(text, start)
        end = scalar.end() if scalar else start
        return end if end < len(text) else None
    depth, in_string, escaped = 0, False, False
    for index in range(start, len(text)):
        char = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return index + 1
    return None


class EventLines:
    """Iterate to get the records of one stream of bytes (see the module docstring)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._head = b""
        self._eof = False
        self.position = 0
        """Bytes of the stream consumed so far."""

    def _read_more(self, size: int = CHUNK) -> bytes:
        read1 = getattr(self._stream, "read1", None)
        chunk = read1(size) if read1 is not None else self._stream.read(size)
        if not chunk:
            self._eof = True
        return chunk

    def __iter__(self) -> Iterator[ParsedLine]:
        if self._is_an_array():
            return ((line, event) for line, event, _raw in self._array())
        return ((line, event) for line, event, _raw in self._lines(hashed=False))

    def hashed(self) -> Iterator[HashedLine]:
        """The records, each with its ``line_hash``."""
        if self._is_an_array():
            return ((line, event, line_hash(raw)) for line, event, raw in self._array())
        return self._lines(hashed=True)

    def _is_an_array(self) -> bool:
        """Whether the stream is one JSON array (read first: the byte order mark is passed over,
        and as much as it takes to tell)."""
        while not self._eof and not self._head.lstrip():
            self._head += self._read_more()
        if self._head.startswith(_BOM):
            self._head = self._head[len(_BOM) :]
            self.position += len(_BOM)
        return self._head.lstrip().startswith(b"[") and not self._first_line_is_a_record()

    def _first_line_is_a_record(self) -> bool:
        """Whether the first line is a whole JSON value followed by more lines."""
        start = len(self._head) - len(self._head.lstrip())
        while b"\n" not in self._head[start:] and not self._eof:
            if len(self._head) > FIRST_LINE_LIMIT:
                return False
            self._head += self._read_more()
        end = self._head.find(b"\n", start)
        if end < 0 or isinstance(_parse_line(self._head[start:end]), NotJson):
            return False
        while not self._eof and not self._head[end:].strip():
            self._head += self._read_more()
        return bool(self._head[end:].strip())

    def _head_lines(self) -> Iterator[bytes]:
        """The lines read ahead (the last one completed from the stream)."""
        while b"\n" in self._head:
            line, self._head = self._head.split(b"\n", 1)
            yield line + b"\n"
        if self._head:
            rest = self._head + self._stream.readline()
            self._head = b""
            yield rest

    def _lines(self, *, hashed: bool) -> Iterator[tuple[int, Any, Any]]:
        """Records of JSON Lines, each with its ``line_hash`` (``hashed``) or its bytes: one
        loop, the stream's own iteration after the lines read ahead (the hot path of ``send``)."""
        number = 0
        for raw in itertools.chain(self._head_lines(), self._stream):
            number += 1
            self.position += len(raw)
            if raw.isspace():  # (never empty)
                continue
            event = _parse_line(raw)
            if type(event) is NotJson:
                event = NotJson(f"line {number}: {event.message}")
            yield number, event, line_hash(raw) if hashed else raw

    def _array(self) -> Iterator[_Raw]:
        array = _ArrayText(self)
        index = 0

        def problem(message: str) -> _Raw:
            why = f"element {index}: {message}; the rest of the file is not read"
            return index, NotJson(why), why

        array.skip_whitespace()
        array.at += 1  # the "[" that made this an array
        after = "]" if array.skip_whitespace() == "]" else ","
        if after == "]":
            array.at += 1
        while after == ",":
            index += 1
            array.skip_whitespace()
            start = array.position()
            event = array.element()
            if isinstance(event, _Unreadable):
                yield problem(event.message)
                return
            if isinstance(event, NotJson):
                event = NotJson(f"element {index}: {event.message}")
            yield index, event, array.text_since(start)
            after = array.skip_whitespace()
            if after not in (",", "]"):
                index += 1
                yield problem(
                    "expected ',' or ']' after an element"
                    if after
                    else "the file ends before the array's closing ']'"
                )
                return
            array.at += 1
        if array.skip_whitespace():
            index += 1
            yield problem("more content after the JSON array")


@dataclass(frozen=True)
class _Unreadable:
    """An array element after which the array cannot be followed."""

    message: str


class _ArrayText:
    """The unread text of a JSON array, decoded as it is read; ``at`` is the next character."""

    def __init__(self, reader: EventLines) -> None:
        self._reader = reader
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
        self._scanner = json.JSONDecoder()
        self.text = ""
        self.at = 0
        self._dropped = 0
        """Characters dropped from the front of ``text`` so far."""

    def position(self) -> int:
        """Characters read before ``at`` (``text_since`` takes it)."""
        return self._dropped + self.at

    def text_since(self, position: int) -> str:
        """The text from ``position`` (of ``position()``) to ``at``."""
        return self.text[position - self._dropped : self.at]

    def more(self, size: int = CHUNK) -> bool:
        """Read on (dropping what was parsed); ``False`` at the end of the stream."""
        reader = self._reader
        if reader._eof and not reader._head:
            return False
        chunk = reader._head or reader._read_more(size)
        reader._head = b""
        reader.position += len(chunk)
        self._dropped += self.at
        self.text = self.text[self.at :] + self._decoder.decode(chunk, final=reader._eof)
        self.at = 0
        return True

    def skip_whitespace(self) -> str:
        """The next character that is not whitespace (``""`` at the end)."""
        while True:
            while self.at < len(self.text) and self.text[self.at] in _WHITESPACE:
                self.at += 1
            if self.at < len(self.text):
                return self.text[self.at]
            if not self.more():
                return ""

    def element(self) -> Any:
        """The value at ``at`` (``at`` moves past it), ``NotJson``, or ``_Unreadable``."""
        while True:
            try:
                value, end = self._scanner.raw_decode(self.text, self.at)
            except json.JSONDecodeError as error:
                unfinished = error.pos >= len(self.text) - 8 or error.msg.startswith("Unterminated")
                if unfinished and self.more(max(CHUNK, len(self.text) - self.at)):
                    continue
                bad_byte = _ESCAPED_BYTE.match(self.text, error.pos)
                return _Unreadable(NOT_UTF8 if bad_byte else f"not JSON ({error.msg})")
            except (RecursionError, ValueError) as error:  # too deep; too many digits
                why = (
                    "nested deeper than the JSON parser allows"
                    if isinstance(error, RecursionError)
                    else str(error).split(";")[0]
                )
                end_of_value = _skip_value(self.text, self.at)
                if end_of_value is None:
                    if self.more(max(CHUNK, len(self.text) - self.at)):
                        continue
                    return _Unreadable(why)
                self.at = end_of_value
                return NotJson(f"not read: {why}")
            if end == len(self.text) and self.more():  # a number may go on in the next chunk
                continue
            text = self.text[self.at : end]
            value = NotJson(NOT_UTF8) if _ESCAPED_BYTE.search(text) else check_unicode(value, text)
            self.at = end
            return value
