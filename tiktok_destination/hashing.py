"""Normalisation and SHA-256 hashing of the user ids TikTok matches on (README, "Fields")."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneMetadata

_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
_STRICT_E164 = re.compile(r"\+([1-9]\d{6,14})")


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def prehashed(value: str) -> str | None:
    """The lower-cased hash when ``value`` already is 64 hex characters, else ``None``."""
    stripped = value.strip()
    return stripped.lower() if _SHA256_HEX.fullmatch(stripped) else None


@lru_cache(maxsize=8192)
def hash_email(value: str) -> str | None:
    known = prehashed(value)
    if known is not None:
        return known
    email = value.strip().lower()
    return sha256_hex(email) if email else None


@lru_cache(maxsize=8192)
def hash_external_id(value: str, lowercase: bool = True) -> str | None:
    known = prehashed(value)
    if known is not None:
        return known
    text = value.strip()
    if lowercase:
        text = text.lower()
    return sha256_hex(text) if text else None


@lru_cache(maxsize=512)
def _country_rules(country_code: int) -> tuple[re.Pattern[str] | None, frozenset[int]] | None:
    """The national-prefix pattern and possible lengths phonenumbers has for a calling code."""
    region = phonenumbers.region_code_for_country_code(country_code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if metadata is None or metadata.general_desc is None:
        return None
    prefix = metadata.national_prefix_for_parsing
    return (re.compile(prefix) if prefix else None), frozenset(
        metadata.general_desc.possible_length
    )


def _fast_e164(digits: str) -> str | None:
    """``+digits`` when it is plainly E.164 already, by phonenumbers' own metadata; else None.

    It accepts a number only when phonenumbers would read it unchanged: a known calling code, no
    national prefix after it, and a possible length. Anything else takes the full parser.
    """
    for size in (1, 2, 3):
        country_code = int(digits[:size])
        if country_code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            rules = _country_rules(country_code)
            if rules is None:
                return None
            prefix, lengths = rules
            national = digits[size:]
            if (prefix is not None and prefix.match(national)) or len(national) not in lengths:
                return None
            return "+" + digits
    return None


def to_e164(value: str, default_region: str | None) -> str | None:
    """The number in E.164 (``+`` and country code), or ``None`` when it cannot be read."""
    text = value.strip()
    if len(text) > 64:  # no phone number is this long; don't let the parser chew on it
        return None
    strict = _STRICT_E164.fullmatch(text)
    if strict is not None:
        fast = _fast_e164(strict.group(1))
        if fast is not None:
            return fast
    return _parse_e164(text, default_region)


@lru_cache(maxsize=4096)
def _parse_e164(text: str, default_region: str | None) -> str | None:
    """The full parser, for numbers not already in plain E.164; users come back, so cached."""
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def hash_phone(value: str, default_region: str | None) -> str | None:
    """Hash of the E.164 form, the value itself when already hashed, ``None`` when unreadable."""
    known = prehashed(value)
    if known is not None:
        return known
    e164 = to_e164(value, default_region)
    return sha256_hex(e164) if e164 is not None else None
