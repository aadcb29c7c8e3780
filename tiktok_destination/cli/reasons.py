"""How the command line counts messages together: a reason without its place, the most frequent."""

from __future__ import annotations

import re
from collections import Counter

REASON_CHARS = 200
"""A reason is cut to this many characters (a long one still counts with its equals)."""
_PLACE = re.compile(r"^(line|element) \d+: ")


def reason(text: str) -> str:
    """``text`` without its place in the file, so equal problems count together."""
    return _PLACE.sub("", text)[:REASON_CHARS]


def most_frequent(counted: Counter[str], n: int) -> list[tuple[str, int]]:
    """The ``n`` most frequent reasons, most frequent first, ties in order of the text."""
    return sorted(counted.items(), key=lambda item: (-item[1], item[0]))[:n]
