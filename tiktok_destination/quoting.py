"""How a value is quoted in a message: a short excerpt that never carries personal data or secrets.

Hosts log outcomes, warnings and errors, so every message that shows a value shows it through
``quote`` (values from events) or ``server_text`` (text from an HTTP answer). ``quote`` keeps at
most ``QUOTE_CHARS`` characters, replaces anything around an ``@`` (an email) and the digits of a
run holding ``PHONE_DIGITS`` or more (a phone number) by ``#``, and never prints a huge integer.
``server_text`` removes the access token in any letter case *before* it cuts, so a cut can never
leave part of a token behind, and replaces control characters (``printable``) so a server's
text can neither drive a terminal (ESC sequences, BEL, bidi overrides) nor break a record.
Both take time linear in the text's length, whatever the text and the token.
"""

from __future__ import annotations

import json
import math
import re
import string
from typing import Any

from tiktok_destination.facts import REDACTED

QUOTE_CHARS = 24
"""Characters of a value shown in a message; longer values are cut and their length given."""
PHONE_DIGITS = 6
"""A run of this many digits (with spaces, dots, dashes, brackets or ``+`` between) is masked."""
LONGEST_PRINTED_INT = 10**40
"""Integers this big are described by their size, not printed (``str`` of a huge int is slow)."""
SERVER_TEXT_CHARS = 300
"""Characters of a server's answer kept in a message."""

_EMAIL_LIKE = re.compile(r"[^\s'\"<>,;]*@[^\s'\"<>,;]*")
_DIGIT_RUN = re.compile(r"\+?[0-9](?:[0-9 ().+/-]*[0-9])?")
_PLAIN_ID = re.compile(r"[A-Za-z0-9._:-]+")
_SEARCHED = QUOTE_CHARS + 64
"""Characters past the cut still searched, so a phone or email crossing the cut is masked."""
UNPRINTABLE = "\ufffd"
"""What ``printable`` puts in place of a control or invisible formatting character."""
_BLOCK = 4096
"""Characters ``redact`` counts at once when it maps a match back into the text."""
_FOLD = str.maketrans(
    {upper: upper.lower() for upper in string.ascii_uppercase}
    | {"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"}  # İ ı ſ and the Kelvin sign
)
"""Letter case as ``re.IGNORECASE`` sees it for ASCII letters, one character for one (the four
non-ASCII letters it matches to ASCII ones included), so positions do not move."""


def _mask_digits(match: re.Match[str]) -> str:
    run = match.group(0)
    if sum(char.isdigit() for char in run) < PHONE_DIGITS:
        return run
    return "".join("#" if char.isdigit() else char for char in run)


def mask_personal_data(text: str) -> str:
    """``text`` with email-like words and phone-like digit runs masked."""
    return _DIGIT_RUN.sub(_mask_digits, _EMAIL_LIKE.sub("<email>", text))


def _excerpt(text: str) -> str:
    if len(text) <= QUOTE_CHARS:
        return repr(mask_personal_data(text))
    shown = mask_personal_data(text[:_SEARCHED])[:QUOTE_CHARS]
    return f"{shown!r}… ({len(text)} characters)"


def quote(value: Any) -> str:
    """A short description of ``value`` for a message, free of personal data."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)  # JSON's words: null, true, false
    if isinstance(value, int):
        if abs(value) >= LONGEST_PRINTED_INT:
            return f"a {value.bit_length()}-bit integer"
        digits = str(abs(value))
        return str(value) if len(digits) < PHONE_DIGITS else f"a {len(digits)}-digit integer"
    if isinstance(value, float):
        return repr(value) if not math.isfinite(value) else mask_personal_data(repr(value))
    if isinstance(value, str):
        return _excerpt(value)
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def kind(value: Any) -> str:
    """What ``value`` is, in JSON's words, for messages: ``null``, ``a boolean``, ``a number``,
    ``a string``, ``a list``, ``an object`` (else the Python type a host passed)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    for types, name in ((str, "a string"), ((list, tuple), "a list"), (dict, "an object")):
        if isinstance(value, types):
            return name
    return f"a {type(value).__name__}"


def printable(text: str) -> str:
    """``text`` with every character that is not printable (C0 and C1 controls, NUL, line and
    paragraph separators, bidi and other formatting characters, lone surrogates) replaced by
    ``UNPRINTABLE``; spaces are kept."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else UNPRINTABLE for char in text)


def redact(text: str, secret: str) -> str:
    """``text`` with every occurrence of ``secret`` replaced, in any ASCII letter case and even
    with whitespace inside it; in time linear in ``len(text) + len(secret)``.

    The text is searched with its whitespace taken out and its case folded one character for
    one (``str.find``: linear however the text repeats the secret's beginnings), and each match
    is mapped back to where it lies in ``text``."""
    needle = "".join(secret.translate(_FOLD).split())
    if not needle:
        return text
    folded = text.translate(_FOLD)
    compact = "".join(folded.split())
    found = []
    at = compact.find(needle)
    while at >= 0:
        found.append(at)
        at = compact.find(needle, at + len(needle))
    if not found:
        return text
    wanted = sorted({*found, *(start + len(needle) - 1 for start in found)})
    where = dict(zip(wanted, _positions(folded, wanted), strict=True))
    pieces, kept_from = [], 0
    for start in found:
        pieces += [text[kept_from : where[start]], REDACTED]
        kept_from = where[start + len(needle) - 1] + 1
    return "".join(pieces) + text[kept_from:]


def _positions(text: str, indices: list[int]) -> list[int]:
    """Where in ``text`` its non-whitespace characters number ``indices`` (ascending) are.

    Blocks without one of them are counted whole (at C speed); only a block holding one is
    walked character by character, once."""
    positions: list[int] = []
    start, before, offsets = 0, 0, None
    """The block at ``text[start:]``, the non-whitespace characters before it, and the offsets of
    its own (once walked)."""
    for index in indices:
        while offsets is None or index >= before + len(offsets):
            if offsets is not None:
                start, before, offsets = start + _BLOCK, before + len(offsets), None
            block = text[start : start + _BLOCK]
            count = len("".join(block.split()))
            if index < before + count:
                offsets = [at for at, char in enumerate(block) if not char.isspace()]
            else:
                start, before = start + _BLOCK, before + count
        positions.append(start + offsets[index - before])
    return positions


def server_text(text: str, secret: str, limit: int = SERVER_TEXT_CHARS) -> str:
    """Text from a server's answer, for a message: the secret removed from the whole text first,
    then whitespace tidied, the text cut to ``limit`` characters, control characters replaced
    and personal data masked (an answer may echo what was sent)."""
    tidy = " ".join(redact(text, secret).split())
    cut = tidy if len(tidy) <= limit else tidy[: limit - 1] + "…"
    return mask_personal_data(printable(cut))


def server_id(text: str, secret: str, limit: int) -> str | None:
    """An identifier from a server's answer (TikTok's ``request_id``): kept when it is plain
    (letters, digits, ``._:-``) and at most ``limit`` long once the secret is removed."""
    plain = redact(text, secret)
    return plain if len(plain) <= limit and _PLAIN_ID.fullmatch(plain) else None
