"""Normalisation and SHA-256 hashing of the user ids TikTok matches on (README, "Fields")."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

import phonenumbers

from tiktok_destination.transform import phones

_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def prehashed(value: str) -> str | None:
    """The lower-cased hash when ``value`` already is 64 hex characters, else ``None``."""
    stripped = value.strip()
    return stripped.lower() if _SHA256_HEX.fullmatch(stripped) else None


CACHED_CHARS = 128
"""Values up to this long are cached; longer ones are hashed every time, so that the caches hold
little clear-text personal data and stay small in bytes (entries × this length)."""
CACHE_ENTRIES = 8192


def _email_hash(value: str) -> str | None:
    known = prehashed(value)
    if known is not None:
        return known
    email = value.strip().lower()
    return sha256_hex(email) if email else None


def _external_id_hash(value: str, lowercase: bool) -> str | None:
    known = prehashed(value)
    if known is not None:
        return known
    text = value.strip()
    if lowercase:
        text = text.lower()
    return sha256_hex(text) if text else None


_cached_email_hash = lru_cache(maxsize=CACHE_ENTRIES)(_email_hash)
_cached_external_id_hash = lru_cache(maxsize=CACHE_ENTRIES)(_external_id_hash)


def hash_email(value: str) -> str | None:
    """Hash of the trimmed, lower-cased email; the value itself when already hashed."""
    if len(value) > CACHED_CHARS:
        return _email_hash(value)
    return _cached_email_hash(value)


def hash_external_id(value: str, lowercase: bool = False) -> str | None:
    """Hash of the trimmed id, its case kept as TikTok's own tools keep it (lower-cased only with
    ``lowercase``); the value itself when already hashed."""
    if len(value) > CACHED_CHARS:
        return _external_id_hash(value, lowercase)
    return _cached_external_id_hash(value, lowercase)


def to_e164(value: str, default_region: str | None) -> str | None:
    """The number in E.164 (``+`` and country code), or ``None`` when it cannot be read or is
    not a valid number for its country (only real numbers are hashed)."""
    text = value.strip()
    if len(text) > 64:  # no phone number is this long; don't let the parser chew on it
        return None
    fast = phones.fast_e164(text, default_region)
    if fast is None:
        return _parse_e164(text, default_region)
    return fast if isinstance(fast, str) else None  # a calling code: read, and not valid


@lru_cache(maxsize=16)
def _parsed(text: str, default_region: str | None) -> phonenumbers.PhoneNumber | None:
    """The full parser's reading of ``text``, or ``None``; kept for a few numbers only, so that
    ``phone_problem``, asked right after a number failed, does not parse it again."""
    try:
        return phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        return None


@lru_cache(maxsize=4096)
def _parse_e164(text: str, default_region: str | None) -> str | None:
    """The full parser, for numbers the fast path leaves; users come back, so cached."""
    number = _parsed(text, default_region)
    if number is None or not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_problem(value: str, default_region: str | None) -> str:
    """Why ``value`` gave no E.164 number (asked only after ``to_e164`` gave ``None``).

    It never repeats the number: at most its country calling code.
    """
    text = value.strip()
    if len(text) > 64:
        return "could not be read as E.164"
    fast = phones.fast_e164(text, default_region)
    if isinstance(fast, int):
        return f"is not a valid phone number for its country (+{fast})"
    number = _parsed(text, default_region)
    if number is None or not phonenumbers.is_possible_number(number):
        return "could not be read as E.164"
    return f"is not a valid phone number for its country (+{number.country_code})"


def _phone_hash(value: str, default_region: str | None) -> str | None:
    known = prehashed(value)
    if known is not None:
        return known
    e164 = to_e164(value, default_region)
    return sha256_hex(e164) if e164 is not None else None


_cached_phone_hash = lru_cache(maxsize=CACHE_ENTRIES)(_phone_hash)


def hash_phone(value: str, default_region: str | None) -> str | None:
    """Hash of the E.164 form, the value itself when already hashed, ``None`` when unreadable."""
    if len(value) > CACHED_CHARS:
        return _phone_hash(value, default_region)
    return _cached_phone_hash(value, default_region)
