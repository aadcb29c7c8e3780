"""Values quoted in messages: short, and never an email, a phone number or the token."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.profiles import examples
from test_properties import BASE_EVENTS, VARIANTS, _paths

from tiktok_destination.destination import transform_event
from tiktok_destination.quoting import (
    QUOTE_CHARS,
    UNPRINTABLE,
    printable,
    quote,
    redact,
    server_text,
)

EMAIL = "jane.doe@example.com"
PHONE = "+33 6 12 34 56 78"
PHONE_DIGITS = "33612345678"
SETTINGS = {"access_token": "tok", "pixel_id": "P1", "app_id": "A1"}
APP = {"context": {"app": {"namespace": "com.x"}}, "partners": {"tiktok": {"event_source": "app"}}}


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("maybe", "'maybe'"),
        ("??", "'??'"),
        (EMAIL, "'<email>'"),
        (PHONE, "'+## # ## ## ## ##'"),
        (int(PHONE_DIGITS), "a 11-digit integer"),
        (12345, "12345"),
        (1e400, "inf"),
        (float("nan"), "nan"),
        pytest.param(10**5000, "a 16610-bit integer", id="huge-int"),
        (True, "true"),
        (None, "null"),
        ({"email": EMAIL}, "an object"),
        ([EMAIL], "a list"),
        ("\ud800", "'\\ud800'"),
        ("x" * 10_000_000, "'" + "x" * QUOTE_CHARS + "'… (10000000 characters)"),
        ("a" * 20 + PHONE_DIGITS, "'" + "a" * 20 + "####'… (31 characters)"),
    ],
)
def test_quote(value: Any, shown: str) -> None:
    assert quote(value) == shown


def test_server_text_removes_the_token_before_cutting() -> None:
    token = "tt-SECRET-7f3a9c0e"
    for position in range(280, 300):
        text = "x" * position + token.swapcase() + " tail"
        cut = server_text(text, token, limit=300)
        assert len(cut) <= 300
        assert "SECRET".lower() not in cut.lower() and "7f3a" not in cut


def test_redact_finds_the_token_in_any_case_and_split_by_whitespace() -> None:
    assert redact("a TOKEN b token c To\nKen", "token") == "a <redacted> b <redacted> c <redacted>"
    assert redact("nothing", "") == "nothing"
    spaced = "t\u2028O\x85k\x1ce \u3000N"  # every kind of whitespace between its letters
    assert redact(f"<{spaced}><tokentoken><ttoken>", "token") == (
        "<<redacted>><<redacted><redacted>><t<redacted>>"
    )
    assert redact("to\ud800ken \ud800 token", "token") == "to\ud800ken \ud800 <redacted>"


@pytest.mark.parametrize("seed", range(3))
def test_redact_finds_what_a_case_blind_whitespace_blind_regex_finds(seed: int) -> None:
    """Against the regex it replaced, on random texts full of near misses."""
    import random

    rnd = random.Random(seed)
    for _ in range(3000):
        secret = "".join(rnd.choice("aAkK5-") for _ in range(rnd.randint(1, 4)))
        text = "".join(rnd.choice("aAkK\u212a5- \n\x85\u2028") for _ in range(rnd.randint(0, 30)))
        pattern = r"\s*".join(re.escape(char) for char in secret)
        expected = re.sub(pattern, "<redacted>", text, flags=re.IGNORECASE)
        assert redact(text, secret) == expected, (text, secret)


def test_redact_is_linear_in_the_texts_size() -> None:
    """2 MiB texts made of a 1,000-character token's near misses: a backtracking search takes
    minutes here (40 s for the first alone), a linear one well under a second; the child has 20."""
    script = textwrap.dedent(
        """
        from tiktok_destination.quoting import redact
        token = "a" * 999 + "b"
        spaced = " ".join(token)
        size = 2 * 2**20
        for text, found in [
            ("a" * size + token, 1),  # every position a near miss
            (" a" * (size // 2) + spaced, 1),  # the same, whitespace between every letter
            ((spaced + " x ") * 1000 + "a" * size, 1000),  # many matches to map back
            (token.upper()[:500] + "\\n" + token.upper()[500:] + "a" * size, 1),
        ]:
            redacted = redact(text, token)
            assert redacted.count("<redacted>") == found, found
            assert "b" not in redacted.replace("<redacted>", ""), found
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=20, check=False
    )
    assert done.stdout == "ok\n", done.stderr


@pytest.mark.parametrize(
    "char",
    [
        *map(chr, range(0x20)),
        "\x7f",
        *map(chr, range(0x80, 0xA0)),
        "\u2028",
        "\u2029",
        *map(chr, range(0x202A, 0x202F)),
        *map(chr, range(0x2066, 0x206A)),
        "\u200e",
        "\u200f",
        "\u061c",
        "\ufeff",
        "\ud800",
        "\udfff",
    ],
)
def test_printable_replaces_every_control_and_formatting_character(char: str) -> None:
    assert printable(f"a{char}b") == f"a{UNPRINTABLE}b"
    shown = server_text(f"a {char}{char} b", "tok")  # whitespace tidied to a space, or replaced
    assert shown in ("a b", f"a {UNPRINTABLE * 2} b"), repr(shown)


def test_printable_keeps_text() -> None:
    text = "Invalid value: café 東京 ÿ ß 🙂 «x» ~!@#$%^&*()_+ end"
    assert printable(text) == text


# Personal data in fields that are not personal data: every message that quotes them.
CASES: dict[str, dict[str, Any]] = {
    "currency": {"currency": "{pii}"},
    "value": {"value": "{pii}"},
    "event_source": {"partners": {"tiktok": {"event_source": "{pii}"}}},
    "content_type": {"content_type": "{pii}"},
    "item content_type": {"items": [{"id": "1", "content_type": "{pii}"}]},
    "quantity": {"items": [{"id": "1", "quantity": "{pii}"}]},
    "timestamp": {"context": {"event_timestamp": "{pii}"}},
    "locale": {"context": {"device": {"language": "{pii}"}}},
    "ldu": {"partners": {"tiktok": {"ldu": "{pii}"}}},
    "att_status": {
        **APP,
        "context": {**APP["context"], "device": {"type": "ios", "att_status": "{pii}"}},
    },
    "event name": {"event_name": "{pii}"},
}


def fill(node: Any, pii: Any) -> Any:
    if node == "{pii}":
        return pii
    if isinstance(node, dict):
        return {key: fill(value, pii) for key, value in node.items()}
    if isinstance(node, list):
        return [fill(value, pii) for value in node]
    return node


@pytest.mark.parametrize("pii", [EMAIL, PHONE, PHONE_DIGITS, int(PHONE_DIGITS)])
@pytest.mark.parametrize("case", sorted(CASES))
def test_personal_data_in_other_fields_is_never_echoed(case: str, pii: Any) -> None:
    event = fill({"event_name": "purchase", "id": "order-1", **CASES[case]}, pii)
    outcome = transform_event(event, SETTINGS, 1_700_000_000)
    messages = json.dumps({key: value for key, value in outcome.items() if key != "payload"})
    if pii in (EMAIL, PHONE):  # no field takes these: each case has a message to look into
        assert outcome["status"] != "ok" or "warnings" in outcome, case
    for needle in (EMAIL, "jane.doe", PHONE, PHONE_DIGITS, "12 34 56 78"):
        assert needle not in messages, messages


def test_a_10mb_value_is_never_repeated_whole() -> None:
    huge = "x" * 10_000_000
    for case in sorted(CASES):
        event = fill({"event_name": "purchase", "id": "order-1", **CASES[case]}, huge)
        outcome = transform_event(event, SETTINGS, 1_700_000_000)
        messages = json.dumps({key: value for key, value in outcome.items() if key != "payload"})
        assert len(messages) < 1000, case


def test_an_offline_event_name_is_quoted_too() -> None:
    settings = {
        **SETTINGS,
        "offline_event_set_id": "OFF",
        "event_mapping": [{"event": EMAIL, "tiktok_event": "Custom_1", "event_source": "web"}],
    }
    event = {"event_name": EMAIL, "partners": {"tiktok": {"event_source": "offline"}}}
    outcome = transform_event(event, settings, 1_700_000_000)
    assert outcome["status"] == "invalid" and "standard event" in outcome["error"]
    assert "jane.doe" not in outcome["error"]


PLANTED = (EMAIL, PHONE, PHONE_DIGITS, int(PHONE_DIGITS), "x" * 100_000)


@settings(deadline=None, max_examples=examples(2000))
@given(data=st.data())
def test_personal_data_planted_anywhere_is_never_in_a_message(data: st.DataObject) -> None:
    """A realistic event with an email, a phone or a huge text put at any of its values."""
    name = data.draw(st.sampled_from(sorted(BASE_EVENTS)))
    variant = data.draw(st.sampled_from(sorted(VARIANTS)))
    event = copy.deepcopy(BASE_EVENTS[name])
    leaves = [path for path, value in _paths(event) if path and not isinstance(value, (dict, list))]
    path = data.draw(st.sampled_from(leaves))
    planted = data.draw(st.sampled_from(PLANTED))
    node: Any = event
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = planted
    outcome = transform_event(event, VARIANTS[variant]["settings"], 1_700_000_000)
    messages = json.dumps({key: value for key, value in outcome.items() if key != "payload"})
    assert len(messages) < 2000
    for needle in ("jane.doe", "12 34 56 78", PHONE_DIGITS):
        assert needle not in messages, (path, messages)
