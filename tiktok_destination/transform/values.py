"""EventWalk typed values out of loosely typed event data: timestamps, numbers, flags, codes.

Each reader returns the value TikTok expects or raises ``BadValue`` with a message saying what was
wrong; the transform adds the field's name.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from tiktok_destination import facts
from tiktok_destination.errors import BadValue as BadValue
from tiktok_destination.quoting import quote

MILLISECONDS_FROM = 1e11
"""Epoch numbers at or above this are milliseconds (1e11 s is the year 5138)."""
_WHOLE_MILLISECONDS_FROM = int(MILLISECONDS_FROM)
_WHOLE_MILLISECONDS_TO = _WHOLE_MILLISECONDS_FROM * 1000
"""The whole numbers read as milliseconds, as ints: mypyc would make a float of a huge int
compared with a float, which overflows."""

_ISO_8601 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?",
    re.ASCII,  # ASCII digits only: TikTok reads no others
)
_LOCALE = re.compile(r"([A-Za-z]{2,3})(?:[-_]([A-Za-z]{4}))?(?:[-_]([A-Za-z]{2}|[0-9]{3}))?")


LARGEST_NUMBER = 1e15
"""Bigger numbers are no price, quantity, value or time: they are refused, not sent."""
LONGEST_ID_DIGITS = 40
MAX_NESTING = 32
"""Levels of objects and lists a custom property's value may have (deeper is no event data)."""
MAX_JSON_NODES = 100_000
"""Values (leaves, objects and lists) one custom property's value may hold."""
LONGEST_LOCALE = 64
"""Longer language strings are no language tag (and are never cached)."""


def to_number(value: Any) -> float | int:
    """A finite number from a number or a numeric string."""
    if isinstance(value, bool):
        raise BadValue(f"expected a number, got {quote(value)}")
    if isinstance(value, (int, float)):
        number: float | int = value
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise BadValue(f"expected a number, got {quote(value)}") from None
        if number.is_integer() and abs(number) < 2**53:
            number = int(number)
    else:
        raise BadValue(f"expected a number, got {quote(value)}")
    if isinstance(number, float) and not math.isfinite(number):
        raise BadValue(f"expected a finite number, got {quote(value)}")
    if not -LARGEST_NUMBER < number < LARGEST_NUMBER:  # not abs(): see README "Compiled speed-up"
        raise BadValue(f"number too large: {quote(value)}")
    return number


def to_count(value: Any) -> int:
    """A whole number ≥ 0 (``2``, ``2.0`` or ``"2"``)."""
    number = to_number(value)
    if number < 0 or (isinstance(number, float) and not number.is_integer()):
        raise BadValue(f"expected a whole number of at least 0, got {quote(value)}")
    return int(number)


def to_string(value: Any) -> str:
    """A string from a string or a number (ids often arrive as numbers)."""
    if isinstance(value, str):
        return value
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and abs(value) < 10**LONGEST_ID_DIGITS
    ):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    raise BadValue(f"expected a string, got {quote(value)}")


def to_json_value(value: Any) -> Any:
    """``value`` itself when it is plain JSON TikTok can read: no NaN or infinity, string keys,
    at most ``MAX_NESTING`` levels deep (so a circular value is refused, not walked forever) and
    at most ``MAX_JSON_NODES`` values in all."""
    stack = [(value, 1)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_JSON_NODES:
            raise BadValue(f"more than {MAX_JSON_NODES} values inside")
        if isinstance(node, float) and not math.isfinite(node):
            raise BadValue(f"expected a finite number, got {quote(node)}")
        if isinstance(node, int) and not isinstance(node, bool) and abs(node) >= 2**63:
            raise BadValue(f"number too large: {quote(node)}")
        if isinstance(node, (dict, list)) and depth > MAX_NESTING:
            raise BadValue(f"nested more than {MAX_NESTING} levels deep, or circular")
        if isinstance(node, dict):
            if not all(isinstance(key, str) for key in node):
                raise BadValue("expected JSON data, got an object key that is not a string")
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
        elif not (node is None or isinstance(node, (str, int, float))):
            raise BadValue(f"expected JSON data, got {quote(node)}")
    return value


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise BadValue(f"expected true or false, got {quote(value)}")


_EPOCH_ORDINAL = datetime(1970, 1, 1).toordinal()
_DIGITS = re.compile("[0-9]+")


def _utc_seconds(text: str) -> int | None:
    """Whole epoch seconds of ``YYYY-MM-DDTHH:MM:SS[.fraction]Z``, the shape most sources
    write, read without the regular expression; ``None`` for any other text, or a date that is
    not real (``_parse_iso`` reads those, and says why). A test holds the two readings equal."""
    if (
        len(text) < 20
        or text[-1] != "Z"
        or text[4] != "-"
        or text[7] != "-"
        or text[10] != "T"
        or text[13] != ":"
        or text[16] != ":"
        or (len(text) > 20 and (text[19] != "." or not _DIGITS.fullmatch(text, 20, len(text) - 1)))
    ):
        return None
    try:
        moment = datetime.fromisoformat(text)  # in this shape, it reads what the pattern reads
    except ValueError:
        return None
    days = moment.toordinal() - _EPOCH_ORDINAL
    return days * 86400 + moment.hour * 3600 + moment.minute * 60 + moment.second


def _parse_iso(text: str) -> int:
    """Whole epoch seconds of an ISO 8601 date-time (UTC when it names no zone)."""
    seconds = _utc_seconds(text)
    if seconds is not None:
        return seconds
    match = _ISO_8601.fullmatch(text.strip())
    if match is None:
        raise BadValue(f"expected epoch seconds, milliseconds or ISO 8601, got {quote(text)}")
    year, month, day, hour, minute, second, _fraction, zone = match.groups()
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=timezone.utc,
        )
    except ValueError as error:
        raise BadValue(f"not a real date: {quote(text)} ({error})") from None
    seconds = int(moment.timestamp())  # the fraction of a second is truncated away
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        seconds -= sign * (int(digits[:2]) * 3600 + int(digits[2:] or 0) * 60)
    return seconds


def _epoch_number(value: Any) -> Decimal | float | int:
    """A number of seconds or milliseconds; strings read exactly, so truncation is exact."""
    if isinstance(value, str):
        number = Decimal(value.strip())
        if not number.is_finite():
            raise BadValue(f"expected a finite number, got {quote(value)}")
        return number
    return to_number(value)


def to_epoch_seconds(value: Any) -> int:
    """Whole epoch seconds (truncated) from seconds, milliseconds or an ISO 8601 string."""
    if value.__class__ is int and 1 <= value < _WHOLE_MILLISECONDS_TO:
        # The common case, in exact integers: what the reading below gives it (a test holds it).
        return value // 1000 if value >= _WHOLE_MILLISECONDS_FROM else value
    if isinstance(value, str) and ":" in value:  # never a number: spare Decimal's exception
        return _checked_seconds(_parse_iso(value), value)
    try:
        number = _epoch_number(value)
    except InvalidOperation:
        return _checked_seconds(_parse_iso(value), value)
    except BadValue:
        raise BadValue(
            f"expected epoch seconds, milliseconds or ISO 8601, got {quote(value)}"
        ) from None
    if number >= MILLISECONDS_FROM:
        number = number / 1000
    return _checked_seconds(number, value)


def _checked_seconds(seconds: Decimal | float | int, given: Any) -> int:
    if not 1 <= seconds < MILLISECONDS_FROM:
        raise BadValue(f"not a usable time: {quote(given)}")
    return int(seconds)


def to_locale(value: Any) -> str:
    """BCP 47 from ``fr``, ``fr_FR``, ``fr-fr``, ``zh_Hant_TW``... (``fr_FR`` → ``fr-FR``)."""
    text = to_string(value).strip()
    if len(text) > LONGEST_LOCALE:
        raise BadValue(f"expected a language tag like fr-FR, got {quote(text)}")
    return _locale(text)


@lru_cache(maxsize=1024)
def _locale(text: str) -> str:
    """BCP 47 for a language string; few distinct ones come by, so cached."""
    match = _LOCALE.fullmatch(text.split(".")[0].split("@")[0])
    if match is None:
        raise BadValue(f"expected a language tag like fr-FR, got {quote(text)}")
    language, script, region = match.groups()
    parts = [language.lower()]
    if script:
        parts.append(script.title())
    if region:
        parts.append(region.upper())
    return "-".join(parts)


def to_currency(value: Any) -> str:
    """An ISO 4217 code TikTok supports, upper case."""
    code = value.strip().upper() if isinstance(value, str) else None
    if code is None or code not in facts.CURRENCIES:
        raise BadValue(
            f"expected a currency TikTok supports (ISO 4217, like EUR), got {quote(value)}"
        )
    return code
