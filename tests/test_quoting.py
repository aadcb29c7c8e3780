"""Values quoted in messages: short, and never an email, a phone number or the token."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from profiles import examples
from test_properties import BASE_EVENTS, VARIANTS, _paths

from tiktok_destination.destination import transform_event
from tiktok_destination.quoting import QUOTE_CHARS, quote, redact, server_text

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
