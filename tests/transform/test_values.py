"""Readers of loosely typed values, and source expressions."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.profiles import examples

from tiktok_destination.expressions import getter_for, is_empty
from tiktok_destination.transform.readers import cookie_value, query_parameter
from tiktok_destination.transform.values import (
    BadValue,
    to_bool,
    to_count,
    to_currency,
    to_epoch_seconds,
    to_locale,
    to_number,
    to_string,
)

NOON = 1700000000  # 2023-11-14T22:13:20Z


@pytest.mark.parametrize(
    ("given", "seconds"),
    [
        (NOON, NOON),
        (NOON + 0.9, NOON),
        (str(NOON), NOON),
        (NOON * 1000 + 999, NOON),
        (f"{NOON * 1000}", NOON),
        ("2023-11-14T22:13:20Z", NOON),
        ("2023-11-14T22:13:20.999Z", NOON),
        ("2023-11-14T23:13:20+01:00", NOON),
        ("2023-11-14T17:13:20-0500", NOON),
        ("2023-11-14 22:13:20", NOON),
        ("2023-11-14", 1699920000),
    ],
)
def test_timestamps_in_every_form(given: Any, seconds: int) -> None:
    assert to_epoch_seconds(given) == seconds


@pytest.mark.parametrize("given", ["yesterday", "2023-13-01", True, None, [], -5, 0, "nan", 1e20])
def test_unusable_timestamps(given: Any) -> None:
    with pytest.raises(BadValue):
        to_epoch_seconds(given)


def _seconds_or_refused(given: Any) -> int | None:
    try:
        return to_epoch_seconds(given)
    except BadValue:
        return None


_EDGES = [1, 10**11 - 1, 10**11, 10**11 + 999, 10**14 - 1, 10**14, 10**15, 2**53 + 1]


@settings(max_examples=examples(2000))
@given(
    st.integers(-(10**16), 10**16)
    | st.sampled_from([edge + shift for edge in _EDGES for shift in (-1, 0, 1)])
)
def test_whole_numbers_read_as_their_exact_decimal_text(number: int) -> None:
    # An int takes a fast path of integer arithmetic; its text is read exactly by Decimal.
    assert _seconds_or_refused(number) == _seconds_or_refused(str(number))
    if abs(number) < 2**53:
        assert _seconds_or_refused(number) == _seconds_or_refused(float(number))


_ISO_TEXT = st.builds(
    "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}{}Z".format,
    st.integers(0, 9999),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 25),
    st.integers(0, 61),
    st.integers(0, 61),
    st.sampled_from(["", "."]) | st.from_regex(r"\.[0-9]{1,12}", fullmatch=True),
)


def _spoilt(text: str, at: int, character: str) -> str:
    at %= len(text) + 1
    return text[:at] + character + text[at + 1 :]


@settings(max_examples=examples(3000))
@given(
    _ISO_TEXT | st.builds(_spoilt, _ISO_TEXT, st.integers(0, 40), st.sampled_from("0Z.:-T tz+٣ \n"))
)
def test_iso_times_in_utc_read_as_the_general_reading_does(text: str) -> None:
    # The common shape (…Z) takes a fast path; "+00:00" for "Z" takes the regular expression.
    general = text[:-1] + "+00:00" if text.endswith("Z") else text + " "
    assert _seconds_or_refused(text) == _seconds_or_refused(general)


def test_numbers() -> None:
    assert to_number("12.50") == 12.5
    assert to_number("3") == 3 and isinstance(to_number("3"), int)
    assert to_count("2") == 2 and to_count(2.0) == 2
    bad: Any
    for bad in (True, "ten", float("inf"), {}):
        with pytest.raises(BadValue):
            to_number(bad)
    for bad in (-1, 1.5):
        with pytest.raises(BadValue):
            to_count(bad)


def test_strings_flags_codes_locales() -> None:
    assert to_string(42) == "42" and to_string(4.0) == "4"
    assert to_bool("TRUE") is True and to_bool(False) is False
    assert to_currency(" eur ") == "EUR"
    assert [to_locale(x) for x in ("fr_FR", "en-us", "DE", "zh_Hant_TW", "pt_BR.UTF-8")] == [
        "fr-FR",
        "en-US",
        "de",
        "zh-Hant-TW",
        "pt-BR",
    ]
    for reader, bad in (
        (to_bool, "yes"),
        (to_currency, "EURO"),
        (to_locale, "??"),
        (to_string, [1]),
    ):
        with pytest.raises(BadValue):
            reader(bad)


EVENT = {
    "user": {"first_name": "Ada", "last_name": "Lovelace", "email": "", "tags": ["a"]},
    "items": [{"id": "SKU-1"}, {"id": 2}],
    "count": 0,
    "flag": False,
}


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("user.first_name", "Ada"),
        ("items.1.id", 2),
        ("items.5.id", None),
        ("user.email", None),
        ("count", 0),
        ("flag", False),
        ("user.first_name.x", None),
        ("{{user.first_name}} {{user.last_name}}", "Ada Lovelace"),
        ("{{user.first_name}} {{user.middle_name}}", "Ada"),  # trimmed
        ("Hi {{user.nothing}}", None),
        ("tags: {{user.tags}}", 'tags: ["a"]'),
        ({"value": "app"}, "app"),
        ({"value": ""}, None),
        (["user.email", "user.nickname", "user.first_name"], "Ada"),
        (["user.email", {"value": 7}], 7),
    ],
)
def test_source_expressions(expression: Any, value: Any) -> None:
    assert getter_for(expression)(EVENT) == value


def test_empty_values() -> None:
    empties: tuple[Any, ...] = (None, "", [], {})
    assert all(is_empty(v) for v in empties)
    assert not any(is_empty(v) for v in (0, False, " ", [None]))


@pytest.mark.parametrize(
    "url",
    [
        "https://x.example/?ttclid=a%2Fb+c",
        "https://x.example/?a=1&ttclid=&ttclid=Z",
        "https://x.example/#?ttclid=in-fragment",
        "https://x.example/?xttclid=1",
        "https://x.example/?ttclid=1#frag",
        "https://x.example/p?q=1&ttclid=E.C.P.xyz&utm=2",
        "https://x.example/p",
    ],
)
def test_ttclid_from_the_url_reads_like_the_standard_library(url: str) -> None:
    values = parse_qs(urlsplit(url).query).get("ttclid")
    assert query_parameter(url, "ttclid") == (values[0] if values else None)


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("_ttp=abc; ttclid=x", "abc"),
        ('a=1;_ttp="quoted"', "quoted"),
        ("x_ttp=1; _ttp=2", "2"),
        ("_ttp=; _ttp=3", "3"),
        ("other=1", None),
        (None, None),
        ({"_ttp": "parsed"}, "parsed"),
    ],
)
def test_cookie_value(header: Any, value: str | None) -> None:
    assert cookie_value(header, "_ttp") == value


def _cookie_by_pattern(header: str, name: str) -> str | None:
    """The reading of the cookie header grammar as a regular expression: the oracle."""
    for match in re.finditer(rf"(?:^|;)\s*{re.escape(name)}=([^;]*)", header):
        value = match.group(1).strip().strip('"')
        if value:
            return value
    return None


@settings(max_examples=examples(3000))
@given(
    st.lists(st.sampled_from(["_ttp", "x_ttp", "=", ";", " ", "\t", "\u00a0", '"', "a"])).map(
        "".join
    )
)
def test_cookie_value_reads_the_header_as_its_grammar_says(header: str) -> None:
    assert cookie_value(header, "_ttp") == _cookie_by_pattern(header, "_ttp")


@pytest.mark.parametrize("code", ["EUR", "usd", " kwd ", "BGN", "TZS", "VES", "ZAR"])
def test_currencies_tiktok_supports(code: str) -> None:
    assert to_currency(code) == code.strip().upper()


@pytest.mark.parametrize("code", ["XYZ", "BTC", "XAU", "ISO", "euros", "", 978, None])
def test_currencies_tiktok_does_not_support_are_refused(code: object) -> None:
    with pytest.raises(BadValue, match="currency TikTok supports"):
        to_currency(code)
