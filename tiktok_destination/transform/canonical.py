"""An event's canonical JSON bytes: what its derived ``event_id`` is the hash of.

The canonical text is the standard library's ``json`` with sorted keys, no spaces, ASCII only
(``ensure_ascii``), ``NaN`` as itself and ``str()`` of what JSON has no type for. ``orjson``
writes the same bytes five times faster for most events, so it is asked first, and its bytes
are kept only when nothing in them can differ from the standard library's:

- no byte outside printable ASCII: ``json`` escapes non-ASCII text and DEL as ``\\uXXXX``;
- no ``null``: ``orjson`` writes ``NaN`` and infinities as ``null``;
- no number below 0.0001: there the two write floats apart (``1e-05``, ``0.00001``);
- nothing ``orjson`` refuses (a surrogate, an int past 64 bits, a key that is not text, a
  date or dataclass, which ``json`` writes as ``str()``): it raises, and ``json`` writes it.

A property test holds the result to the standard library's bytes.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_STANDARD = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), default=str, check_circular=False
)
"""Sorted keys make the text canonical; a cycle ends in ``RecursionError``."""
_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_SMALL_NUMBER = re.compile(rb"[:,\[]-?(?:0\.0000|[0-9][0-9.]*e-)")
"""A number below 0.0001 (a value after ``:``, ``,`` or ``[``), which ``orjson`` writes apart."""


def _sure(fast: bytes) -> bool:
    """Whether ``orjson``'s bytes are those ``json`` writes: printable ASCII, no ``null`` (it
    writes ``NaN`` and infinities so), no number below 0.0001. Text that only looks like one
    of these sends the event to ``json``, which is merely slower."""
    if not fast.isascii() or b"\x7f" in fast or b"null" in fast:
        return False
    if b"e-" in fast or b"0.0000" in fast:  # rare: spare most events the regular expression
        return _SMALL_NUMBER.search(fast) is None
    return True


def _refuse(_value: Any) -> Any:
    raise TypeError("left to the standard library")


def canonical_json(event: Any) -> bytes:
    """The canonical bytes of ``event``; raises ``TypeError``, ``ValueError`` or
    ``RecursionError`` for what cannot be written as JSON (circular, too deep)."""
    try:
        fast = orjson.dumps(event, default=_refuse, option=_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        fast = None
    if fast is not None and _sure(fast):
        return fast
    return _STANDARD.encode(event).encode("ascii")
