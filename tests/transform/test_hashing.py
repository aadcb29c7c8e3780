"""Normalisation and hashing against SHA-256 vectors computed outside Python (sha256sum, NIST)."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import phonenumbers
import pytest

from tiktok_destination.transform import hashing, phones

JOHN = "855f96e983f1f8e8be944692b6f719fd54329826cb62e98015efee8e2e071dd4"  # john@example.com
FR_MOBILE = "42d573cfc315801d4cd8eddd5416b416a0bf298b9b9e12d6b07442c91db42bd8"  # +33612345678
US_NUMBER = "cb6880e416769253645cb9c6b8989154bf66a56a77fc14c81fb1019663cbb928"  # +14155552671
USER_42 = "6d894aa3ee802549d7f340e7c1cf0d1c1cb14cd84f768d92ffaa6785337c4997"  # user-42
USER_42_CASED = "fafe5e551759817bdc65038b8cb1a8263b1a8b3b60c269d67ff0f8c57ae0f733"  # User-42


def test_sha256_matches_the_nist_vector() -> None:
    assert hashing.sha256_hex("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


@pytest.mark.parametrize("email", ["john@example.com", "  John@Example.COM ", "JOHN@EXAMPLE.COM\n"])
def test_email_is_trimmed_and_lower_cased(email: str) -> None:
    assert hashing.hash_email(email) == JOHN


def test_prehashed_values_pass_through_lower_cased() -> None:
    assert hashing.hash_email(JOHN.upper()) == JOHN
    assert hashing.hash_phone(f" {FR_MOBILE} ", None) == FR_MOBILE
    assert hashing.hash_external_id(USER_42.upper()) == USER_42


def test_blank_values_hash_to_nothing() -> None:
    assert hashing.hash_email("   ") is None
    assert hashing.hash_external_id("") is None


def test_external_id_lower_casing_is_a_choice() -> None:
    assert hashing.hash_external_id(" User-42 ") == USER_42_CASED  # case kept by default
    assert hashing.hash_external_id(" User-42 ", lowercase=True) == USER_42
    assert hashing.hash_external_id(" User-42 ", lowercase=False) == USER_42_CASED


@pytest.mark.parametrize(
    ("number", "region", "expected"),
    [
        ("+33612345678", None, FR_MOBILE),
        ("+33 6 12 34 56 78", None, FR_MOBILE),
        ("06 12 34 56 78", "FR", FR_MOBILE),
        ("0033 6 12 34 56 78", "FR", FR_MOBILE),
        ("+1 (415) 555-2671", None, US_NUMBER),
        ("415-555-2671", "US", US_NUMBER),
        ("+14155552671", None, US_NUMBER),
    ],
)
def test_phone_is_hashed_in_e164(number: str, region: str | None, expected: str) -> None:
    assert hashing.hash_phone(number, region) == expected


@pytest.mark.parametrize("number", ["06 12 34 56 78", "not a phone", "+12", "+999123456", "12"])
def test_unreadable_phone_gives_nothing(number: str) -> None:
    assert hashing.hash_phone(number, None) is None
    assert hashing.phone_problem(number, None) == "could not be read as E.164"


@pytest.mark.parametrize(
    ("number", "region"),
    [
        ("555-0100", "US"),  # a fictional US number: possible, not valid
        ("030 1234567", "US"),  # a German number read as American: +10301234567
        ("+15550100000", None),  # area code 555 does not exist
        ("+1 555 010 0000", "FR"),
    ],
)
def test_numbers_not_valid_for_their_country_give_nothing(number: str, region: str | None) -> None:
    assert hashing.to_e164(number, region) is None
    assert hashing.hash_phone(number, region) is None
    assert hashing.phone_problem(number, region) == (
        "is not a valid phone number for its country (+1)"
    )


@pytest.mark.parametrize(
    ("number", "region"),
    [
        ("+33\uff16\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18", None),  # full-width
        ("\uff0b\uff13\uff13 6 12 34 56 78", None),  # full-width plus sign too
        ("\u0660\u0666\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668", "FR"),  # Arabic-Indic
        ("\u06f0\u06f6 \u06f1\u06f2 \u06f3\u06f4 \u06f5\u06f6 \u06f7\u06f8", "FR"),  # Persian
        ("+\u0969\u0969\u096c\u0967\u0968\u0969\u096a\u096b\u096c\u096d\u096e", None),  # Devanagari
    ],
)
def test_digits_of_other_scripts_are_read_as_digits(number: str, region: str | None) -> None:
    assert hashing.hash_phone(number, region) == FR_MOBILE


@pytest.mark.parametrize(
    ("number", "e164"),
    [
        ("+4402079460958", "+442079460958"),  # national prefix after the country code
        ("+61 0412 345 678", "+61412345678"),
        ("+390612345678", "+390612345678"),  # Italy keeps its leading zero
    ],
)
def test_e164_follows_phonenumbers_rules(number: str, e164: str) -> None:
    assert hashing.to_e164(number, None) == e164


def _library_e164(text: str, region: str | None = None) -> str | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _library_problem(text: str, region: str | None = None) -> str:
    """``phone_problem`` as the full parser alone would say it."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return "could not be read as E.164"
    if not phonenumbers.is_possible_number(number):
        return "could not be read as E.164"
    return f"is not a valid phone number for its country (+{number.country_code})"


def _agrees_with_the_library(text: str, region: str | None = None) -> None:
    expected = _library_e164(text, region)
    assert hashing.to_e164(text, region) == expected, (text, region)
    if expected is None:
        assert hashing.phone_problem(text, region) == _library_problem(text, region), text


def _written(rng: random.Random, digits: str) -> str:
    """``digits`` as people write them: groups split by spaces, dashes, dots or parentheses."""
    out, rest = [], digits
    while rest:
        size = rng.randint(1, 4)
        group, rest = rest[:size], rest[size:]
        style = rng.random()
        out.append(f"({group})" if style < 0.1 else group)
        if rest:
            out.append(rng.choice(("", " ", " ", "-", ".", " - ")))
    return "".join(out)


def test_fast_path_agrees_with_phonenumbers_on_random_numbers() -> None:
    rng = random.Random(20261124)
    checked = 0
    for _ in range(20000):
        digits = str(rng.randint(1, 999)) + "".join(
            rng.choice("0123456789") for _ in range(rng.randint(4, 13))
        )
        text = "+" + digits
        _agrees_with_the_library(text)
        checked += isinstance(phones.international(digits), str)
    assert (
        checked > 500
    )  # the fast path really was taken (for valid numbers), not only the slow one


def test_fast_path_with_separators_agrees_with_phonenumbers() -> None:
    rng = random.Random(20261126)
    fast = refused = 0
    for _ in range(20000):
        digits = str(rng.randint(1, 999)) + "".join(
            rng.choice("0123456789") for _ in range(rng.randint(4, 13))
        )
        text = rng.choice(("+", "+", "+ ", "+(")) + _written(rng, digits)
        _agrees_with_the_library(text)
        answer = phones.fast_e164(text, None)
        fast += isinstance(answer, str)
        refused += isinstance(answer, int)
    # random digits are seldom valid numbers: the fast path reads and judges both kinds
    assert fast > 500 and refused > 2000


REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)


def test_national_fast_path_agrees_with_phonenumbers_in_every_region() -> None:
    rng = random.Random(20261127)
    fast: set[str] = set()
    refused = 0
    for _ in range(40000):
        region = rng.choice(("FR", "US", "GB", "DE", "AU", *REGIONS))
        prefix = rng.choice(("0", "0", "1", "", "00", "8", "06"))
        digits = prefix + "".join(rng.choice("0123456789") for _ in range(rng.randint(5, 12)))
        text = _written(rng, digits)
        _agrees_with_the_library(text, region)
        answer = phones.fast_e164(text, region)
        if isinstance(answer, str):
            fast.add(region)
        refused += isinstance(answer, int)
    assert {"FR", "GB", "DE"} <= fast and len(fast) > 50  # the fast path really ran
    assert refused > 300  # and judged numbers not valid without the full parser


@pytest.mark.parametrize(
    ("text", "region", "e164"),
    [
        ("+33 6 12 34 56 78", None, "+33612345678"),
        ("+1-415-555-2671", None, "+14155552671"),
        ("(061) 234-5678", "FR", "+33612345678"),
        ("06.12.34.56.78", "FR", "+33612345678"),
    ],
)
def test_fast_path_reads_numbers_as_people_write_them(
    text: str, region: str | None, e164: str
) -> None:
    assert phones.fast_e164(text, region) == e164


RETAINED = """
import gc, json, tracemalloc
from tiktok_destination.destination import transform_event
settings = {"access_token": "t", "pixel_id": "P", "default_phone_region": "FR"}
tracemalloc.start()
for n in range(300):
    big = str(n) + "a" * 1_000_000
    event = {
        "event_name": "purchase",
        "id": str(n),
        "user": {"email": big + "@example.com", "id": big, "phone": big},
        "context": {"device": {"language": big}},
    }
    transform_event(event, settings, 1.7e9)
    del event, big
gc.collect()
print(json.dumps(tracemalloc.get_traced_memory()[0]))
"""


def test_caches_keep_no_long_personal_data() -> None:
    """300 distinct 1 MB emails, ids, phones and languages: nothing of them stays in memory."""
    done = subprocess.run(
        [sys.executable, "-c", RETAINED], capture_output=True, text=True, timeout=120, check=True
    )
    retained = json.loads(done.stdout)
    assert retained < 20 * 2**20, f"{retained / 2**20:.0f} MB kept (it was 600 MB)"


def test_short_values_are_still_cached_and_long_ones_still_hashed() -> None:
    long_email = "x" * 1000 + "@example.com"
    assert hashing.hash_email(long_email) == hashing.sha256_hex(long_email)
    hashing._cached_email_hash.cache_clear()
    hashing.hash_email("john@example.com")
    hashing.hash_email("john@example.com")
    hashing.hash_email(long_email)
    info = hashing._cached_email_hash.cache_info()
    assert (info.hits, info.currsize) == (1, 1)
    long_phone = "+33 6 12 34 56 78" + " " * 200
    assert hashing.hash_phone(long_phone, None) == hashing.sha256_hex("+33612345678")
    hashing._cached_phone_hash.cache_clear()
    for _ in range(2):
        assert hashing.hash_phone("06 12 34 56 78", "FR") == hashing.sha256_hex("+33612345678")
    hashing.hash_phone(long_phone, None)
    info = hashing._cached_phone_hash.cache_info()
    assert (info.hits, info.currsize) == (1, 1)


def test_validity_from_compiled_metadata_agrees_with_phonenumbers() -> None:
    rng = random.Random(20261128)
    codes = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    valid = 0
    for _ in range(30000):
        code = rng.choice((1, 1, 33, 44, 49, 7, 61, *codes))
        national = str(rng.randint(1, 9)) + "".join(
            rng.choice("0123456789") for _ in range(rng.randint(3, 12))
        )
        number = phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
        expected = phonenumbers.is_valid_number(number)
        assert phones._valid(code, national) == expected, (code, national)
        valid += expected
    assert valid > 1000  # valid numbers were among them, not only invalid ones
