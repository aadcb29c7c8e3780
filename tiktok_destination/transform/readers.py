"""The readers a field record names (``Field.read``), and the cookie and URL fallbacks.

Each reader turns a value read from an event into what TikTok takes, returns ``None`` when
nothing is left to send (an empty text), or raises ``BadValue`` saying why it cannot. What a bad
value does to the event is the field record's ``on_bad``; how its warning reads is the reader's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any, NamedTuple
from urllib.parse import unquote_plus, urlsplit

from tiktok_destination.expressions import is_empty
from tiktok_destination.facts import ATT_STATUSES, CONTENT_TYPES, NOT_APPLICABLE
from tiktok_destination.quoting import quote
from tiktok_destination.transform import hashing
from tiktok_destination.transform.values import (
    BadValue,
    to_bool,
    to_count,
    to_currency,
    to_locale,
    to_number,
    to_string,
)

LEFT_OUT = "{where}: left out, {problem}"


class Reader(NamedTuple):
    """A value reader, and the warning when a field left out a value it could not read."""

    read: Callable[[Any], Any]
    left_out: str = LEFT_OUT


def _text(value: Any) -> str | None:
    """A trimmed string; ``None`` when only white space is left."""
    return to_string(value).strip() or None


def _apple_id(value: Any) -> str | None:
    """IDFA or IDFV: clear ones upper case, hashed ones lower case."""
    text = _text(value)
    return None if text is None else hashing.prehashed(text) or text.upper()


def _gaid(value: Any) -> str | None:
    text = _text(value)
    return None if text is None else text.lower()


APPLE_ATT_CODES = ("NOT_DETERMINED", "RESTRICTED", "DENIED", "AUTHORIZED")
"""Apple's ``ATTrackingManager.AuthorizationStatus`` raw values 0-3, as mobile SDKs send them
(RudderStack's ``context.device.attTrackingStatus``)."""
AD_TRACKING = {True: "AUTHORIZED", False: "DENIED"}
"""The ``adTrackingEnabled`` flag of Segment's ``context.device``, read as Segment's TikTok App
Events action reads it."""


def _att_status(value: Any) -> str | None:
    """One of TikTok's ATT statuses, from any case and ``-`` or space separators; also from
    Apple's raw value (0-3) or an ad-tracking flag (``true``: authorized, ``false``: denied)."""
    if isinstance(value, bool):
        return AD_TRACKING[value]
    if isinstance(value, int) and 0 <= value < len(APPLE_ATT_CODES):
        return APPLE_ATT_CODES[value]
    text = _text(value)
    if text is None:
        return None
    status = text.upper().replace(" ", "_").replace("-", "_")
    if status not in ATT_STATUSES:
        raise BadValue(f"expected one of {', '.join(ATT_STATUSES)}, got {quote(text)}")
    return status


def _android_att_status(value: Any) -> str | None:
    """An Android event's ATT status: only ``NOT_APPLICABLE`` (ATT is iOS's); any other value,
    even a bad one, is not Android's and is left out."""
    try:
        status = _att_status(value)
    except BadValue:
        return None
    return status if status == NOT_APPLICABLE else None


def _content_type(value: Any) -> str:
    kind = value.strip().lower() if isinstance(value, str) else None
    if kind not in CONTENT_TYPES:
        raise BadValue(f"{quote(value)}, TikTok takes {' or '.join(CONTENT_TYPES)}")
    return kind


def _name_text(value: Any) -> str | None:
    """Trimmed text of a name or an address part; its type only when it is none (personal data
    is never echoed)."""
    try:
        return to_string(value).strip() or None
    except BadValue:
        raise BadValue(f"expected text, got {type(value).__name__}") from None


def _name_hash(value: Any) -> str | None:
    """SHA-256 of a trimmed, lower-cased name; a value that already is a hash passes on."""
    text = _name_text(value)
    if text is None:
        return None
    return hashing.prehashed(text) or hashing.sha256_hex(text.lower())


def _zip_hash(value: Any) -> str | None:
    """SHA-256 of a zip code, lower-cased, without spaces; a hash passes on."""
    text = _name_text(value)
    if text is None:
        return None
    return hashing.prehashed(text) or hashing.sha256_hex("".join(text.lower().split()))


def _lower_text(value: Any) -> str | None:
    """A city, state or country: trimmed, lower-cased, in clear."""
    text = _name_text(value)
    return None if text is None else text.lower()


READERS: dict[str, Reader] = {
    "string": Reader(to_string),
    "text": Reader(_text),
    "number": Reader(to_number),
    "count": Reader(to_count),
    "currency": Reader(to_currency),
    "bool": Reader(to_bool),
    "locale": Reader(to_locale),
    "apple_id": Reader(_apple_id),
    "gaid": Reader(_gaid),
    "att_status": Reader(_att_status),
    "android_att_status": Reader(_android_att_status),
    "content_type": Reader(_content_type, "{where}: left out {problem}"),
    "name_hash": Reader(_name_hash),
    "zip_hash": Reader(_zip_hash),
    "lower_text": Reader(_lower_text),
}
"""Reader names, as ``Field.read`` gives them."""


@cache
def _pair_pattern(name: str, separator: str) -> re.Pattern[str]:
    """``name=value`` as one item of a ``separator``-separated list (a cookie, a query)."""
    return re.compile(rf"(?:^|{separator})\s*{re.escape(name)}=([^{separator}]*)")


def cookie_value(raw: Any, name: str) -> str | None:
    """The first non-empty value of cookie ``name`` in a raw ``Cookie`` header (or a dict)."""
    if isinstance(raw, dict):
        value = raw.get(name)
        return None if is_empty(value) else str(value)
    if not isinstance(raw, str):
        return None
    key = name + "="
    at = raw.find(key)
    while at >= 0:  # ``name=`` that starts an item: after ``;`` (or the start) and spaces
        start = raw.rfind(";", 0, at) + 1
        if start == at or raw[start:at].isspace():
            end = raw.find(";", at)
            value = raw[at + len(key) : None if end < 0 else end].strip().strip('"')
            if value:
                return value
        at = raw.find(key, at + 1)
    return None


def url_host(url: Any) -> str | None:
    """The lower-cased host name of ``url``, or ``None``."""
    if not isinstance(url, str):
        return None
    try:
        return urlsplit(url.strip()).hostname
    except ValueError:
        return None


def query_parameter(url: Any, name: str) -> str | None:
    """The first non-empty value of query parameter ``name`` in ``url``, decoded."""
    if not isinstance(url, str) or name not in url:
        return None
    query = url.partition("#")[0].partition("?")[2]
    for match in _pair_pattern(name, "&").finditer(query):
        if match.group(1):
            return unquote_plus(match.group(1))
    return None
