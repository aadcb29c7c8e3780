"""One event read from its JSON text, or ``NotJson`` naming why it cannot be one.

The command line's event files and the fleet's stream entries read events alike: not JSON,
nested deeper than the JSON parser allows, or holding a lone surrogate (``"\\ud800"``: no UTF-8
JSON can carry it) each give a ``NotJson``, never an exception.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


@dataclass(frozen=True)
class NotJson:
    """A line (or array element) that could not be read as an event: why."""

    message: str


def _lone_surrogate(value: Any) -> str | None:
    """The first string (or key) in ``value`` that holds a lone surrogate, escaped."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as error:
                return item[error.start : error.start + 1].encode("unicode_escape").decode()
    return None


def parse_text(text: str) -> Any:
    """``text`` parsed, or ``NotJson`` (without a place: the caller adds it)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        return NotJson(f"not JSON ({error})")
    except ValueError as error:  # an integer of more digits than Python converts
        return NotJson(f"not read ({str(error).split(';')[0]})")
    except RecursionError:
        return NotJson("not read: nested deeper than the JSON parser allows")
    return check_unicode(value, text)


def check_unicode(value: Any, text: str) -> Any:
    """``value``, or ``NotJson`` when its ``text`` spelled a lone surrogate in it."""
    if _SURROGATE_ESCAPE.search(text):
        lone = _lone_surrogate(value)
        if lone is not None:
            return NotJson(f"not valid Unicode: a lone surrogate ({lone}) in a string")
    return value
