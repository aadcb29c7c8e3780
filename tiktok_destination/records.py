"""Reading events for the command line: JSON Lines or one JSON array, from a file or stdin.

Each record is ``(line, event)`` where ``event`` is the parsed value or a ``NotJson`` saying why
the line could not be read; blank lines are passed over. Lines are read lazily, so memory stays
flat however long the file.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any


@dataclass(frozen=True)
class NotJson:
    message: str


Record = tuple[int, Any]


@contextmanager
def open_events(path: str | None) -> Iterator[IO[str]]:
    """The events file, or stdin for ``None`` and ``"-"``."""
    if path in (None, "-"):
        yield sys.stdin
        return
    with open(path, encoding="utf-8") as stream:
        yield stream


def _parse(line: str, number: int) -> Any:
    try:
        return json.loads(line)
    except ValueError as error:
        return NotJson(f"line {number}: not JSON ({error})")


def read_records(stream: IO[str]) -> Iterator[Record]:
    """Records in input order: the elements of a JSON array, or one per non-blank line."""
    first = stream.readline()
    if first.lstrip().startswith("["):
        text = first + stream.read()
        try:
            array = json.loads(text)
        except ValueError:
            array = None
        if isinstance(array, list):
            yield from ((index + 1, event) for index, event in enumerate(array))
            return
        lines: Any = iter(text.splitlines())
    else:
        lines = _chain(first, stream)
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield number, _parse(line, number)


def _chain(first: str, stream: IO[str]) -> Iterator[str]:
    if first:
        yield first
        yield from stream
