"""The fast path to E.164: numbers phonenumbers would read trivially, read without its parser.

``fast_e164`` answers only when the number is plainly one of two shapes, with spaces, dashes,
dots or parentheses between the digits (``+33 6 12 34 56 78``, ``+1-415-555-2671``,
``(061) 234-5678`` with region ``FR``):

- ``+`` and the digits of an international number: a known calling code, no national prefix
  after it, a possible length;
- a national number in ``default_region``: the region's plain national prefix (``0`` in France),
  then digits that fit the region's national pattern and possible lengths;

and, either way, whether phonenumbers finds it valid for its country: a plainly read number that
is not (``+1 555 0100``) is answered as well, by its calling code, so that the full parser is
not run only to say no.

Every rule comes from phonenumbers' own metadata, and anything it is not sure of (an
international dialling prefix, carrier codes, prefix rewriting rules, letters) returns
``None``, leaving the number to the full parser. A test compares the two on
random numbers in every shape.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

import phonenumbers
from phonenumbers import PhoneMetadata

_SEPARATORS = str.maketrans("", "", " -.()")
_INTERNATIONAL = re.compile(r"\+([1-9][0-9]{6,14})")
_NATIONAL = re.compile(r"[0-9]{2,17}")


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


_TYPES = (
    "premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
    "voicemail", "fixed_line", "mobile",
)  # fmt: skip
"""The number types of phonenumbers' metadata: a valid number is one of them."""


@lru_cache(maxsize=512)
def _types(country_code: int, region: str) -> re.Pattern[str] | None:
    """One pattern matching the national numbers of any number type of ``region`` (for
    ``country_code``): the types' patterns as alternatives, ``None`` when it has none."""
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    descs = (getattr(metadata, kind, None) for kind in _TYPES)
    patterns = [getattr(desc, "national_number_pattern", None) for desc in descs]
    alternatives = "|".join(f"(?:{pattern})" for pattern in patterns if pattern)
    return re.compile(alternatives) if alternatives else None


def _typed(country_code: int, region: str, number: str) -> bool:
    """Whether ``number`` is of a known type in ``region``: phonenumbers' ``_number_type_helper``
    answering anything but UNKNOWN (each type's pattern lies within the general one, and its
    possible lengths only spare a regular expression)."""
    pattern = _types(country_code, region)
    return pattern is not None and pattern.fullmatch(number) is not None


@lru_cache(maxsize=512)
def _leading_digits(region: str) -> re.Pattern[str] | None:
    metadata = PhoneMetadata.metadata_for_region(region)
    pattern = metadata.leading_digits if metadata is not None else None
    return re.compile(pattern) if pattern is not None else None


def _valid(country_code: int, national_number: str) -> bool:
    """Whether phonenumbers finds the number valid (``is_valid_number``), from its metadata
    compiled once per region (a national number without leading zeros: callers')."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[country_code]  # a known code: callers'
    if len(regions) == 1:
        return _typed(country_code, regions[0], national_number)
    for region in regions:  # the region of the number, as region_code_for_number finds it
        leading = _leading_digits(region)
        if leading is not None:
            if leading.match(national_number):
                return _typed(country_code, region, national_number)
        elif _typed(country_code, region, national_number):
            return True
    return False


Fast = str | int | None
"""What the fast path knows of a number: its E.164 text; the calling code of a number read
plainly that is not valid for its country; ``None``: not sure, ask the full parser."""


def _judged(country_code: int, national_number: str) -> Fast:
    """E.164 of a plainly read number when valid, else its calling code; leading zeros (Italy)
    are left to the full parser."""
    if national_number.startswith("0"):
        return None
    if _valid(country_code, national_number):
        return f"+{country_code}{national_number}"
    return country_code


def international(digits: str) -> Fast:
    """What phonenumbers makes of ``+digits`` (see ``Fast``) when it would read it unchanged:
    a known calling code, no national prefix after it, a possible length."""
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
            return _judged(country_code, national)
    return None


class _Region(NamedTuple):
    """What reading a national number of one region needs from phonenumbers' metadata."""

    country_code: int
    international_prefix: re.Pattern[str]
    national_prefix: re.Pattern[str]
    national_number: re.Pattern[str]
    lengths: frozenset[int]


@lru_cache(maxsize=512)
def _region_rules(region: str) -> _Region | None:
    """The region's rules when they are plain enough for the fast path, else ``None``."""
    metadata = PhoneMetadata.metadata_for_region(region.upper())
    if metadata is None or metadata.general_desc is None or metadata.country_code is None:
        return None
    prefix = metadata.national_prefix_for_parsing
    general = metadata.general_desc
    if (
        not prefix
        or metadata.national_prefix_transform_rule
        or not metadata.international_prefix
        or not general.national_number_pattern
    ):
        return None
    national_prefix = re.compile(prefix)
    if national_prefix.groups:  # carrier codes: the full parser knows what to do
        return None
    main = _country_rules(metadata.country_code)
    if main is None:
        return None
    return _Region(
        metadata.country_code,
        re.compile(metadata.international_prefix),
        national_prefix,
        re.compile(general.national_number_pattern),
        frozenset(general.possible_length) & main[1],
    )


def national(digits: str, region: str) -> Fast:
    """What phonenumbers makes of a national number written with the region's national prefix
    (see ``Fast``)."""
    rules = _region_rules(region)
    if rules is None or rules.international_prefix.match(digits):
        return None
    prefix = rules.national_prefix.match(digits)
    if prefix is None:
        return None
    number = digits[prefix.end() :]
    if len(number) not in rules.lengths or not rules.national_number.fullmatch(number):
        return None
    return _judged(rules.country_code, number)


def fast_e164(text: str, default_region: str | None) -> Fast:
    """What phonenumbers makes of ``text`` (already stripped) when it is plainly readable
    (see ``Fast``), else ``None``."""
    compact = text.translate(_SEPARATORS)
    if compact.startswith("+"):
        plain = _INTERNATIONAL.fullmatch(compact)
        return international(plain.group(1)) if plain is not None else None
    if default_region is not None and compact.isascii() and _NATIONAL.fullmatch(compact):
        return national(compact, default_region)
    return None
