"""Property tests for the match keys, the CRM lead and the consent rule (README "Fields").

Whatever the name, zip, address, lead and consent values hold, the transform gives one outcome;
an ``ok`` payload validates against the output schema, hashes names and zips, sends address parts
trimmed and lower-cased, carries ``lead`` exactly on crm events, and no name or zip in clear. An
event is ``skipped`` for consent exactly when its categories lack a required one.
"""

from __future__ import annotations

import copy
import re
from functools import cache
from typing import Any, cast

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from support.profiles import examples

from tiktok_destination import resources
from tiktok_destination.settings import Config, make_config
from tiktok_destination.transform.event import transform

NOW = 1_700_000_000
PROPERTY_SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
_SHA256 = re.compile(r"[0-9a-f]{64}")
CATEGORIES = ("ads", "analytics", "marketing", "functional")
SOURCES = ("web", "app", "offline", "crm")


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(resources.load_json("schemas/event-track-request.schema.json"))


@cache
def _config(required: tuple[str, ...]) -> Config:
    return make_config(
        {
            "access_token": "tok",
            "pixel_id": "PIXEL",
            "app_id": "APP",
            "offline_event_set_id": "OFF",
            "crm_event_set_id": "CRM",
            "required_consent": list(required),
            "event_mapping": [
                {"event": "qualified", "tiktok_event": "Qualified", "event_source": "crm"}
            ],
        }
    )


leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["", "  ", " Jean-Luc ", "ÉLODIE", "75 001", "f" * 64, "F" * 64, "\t\n"])
)
values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=2)
    ),
    max_leaves=5,
)
category_text = (
    st.sampled_from(CATEGORIES).map(str.upper) | st.sampled_from(CATEGORIES) | st.text(max_size=8)
)
padded = st.tuples(st.sampled_from(["", " ", "\t"]), category_text, st.sampled_from(["", " "])).map(
    "".join
)
consent_values = (
    st.none() | st.lists(padded, max_size=4) | st.lists(padded, max_size=4).map(",".join) | values
)


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    source = draw(st.sampled_from(SOURCES))
    user = {
        key: draw(values)
        for key in (
            "firstname",
            "first_name",
            "lastname",
            "zipcode",
            "zip_code",
            "city",
            "state",
            "country",
        )
        if draw(st.booleans())
    }
    tiktok: dict[str, Any] = {"event_source": source}
    if draw(st.booleans()):
        tiktok["lead_id"] = draw(values)
    if draw(st.booleans()):
        tiktok["lead_event_source"] = draw(values)
    event: dict[str, Any] = {
        "event_name": draw(st.sampled_from(["qualified", "purchase", "add_to_cart"])),
        "id": "p-1",
        "user": user,
        "partners": {"tiktok": tiktok},
        "context": {"app": {"namespace": "com.example"}},
    }
    consent = draw(consent_values)
    if consent is not None:
        event["consent_categories"] = consent
    return event


def _granted(value: Any) -> set[str]:
    """The categories an event grants, by the README rule (a model written apart from the code)."""
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    return {item.strip().lower() for item in items if isinstance(item, str) and item.strip()}


def _clear_texts(event: dict[str, Any]) -> set[str]:
    """Names and zips that must not appear in clear (unless an address part, sent in clear,
    holds the same text)."""
    user = event["user"]
    address = [
        value.strip().lower()
        for key in ("city", "state", "country")
        if isinstance(value := user.get(key), str)
    ]
    found = set()
    for key in ("firstname", "first_name", "lastname", "zipcode", "zip_code"):
        value = user.get(key)
        if (
            isinstance(value, str)
            and len(value.strip()) >= 4
            and not _SHA256.fullmatch(value.strip().lower())
        ):
            found.add(value.strip().lower())
    return {text for text in found if not any(text in part for part in address)}


@settings(PROPERTY_SETTINGS, max_examples=examples(1000))
@given(event=events(), required=st.lists(st.sampled_from(CATEGORIES), max_size=3, unique=True))
def test_new_fields_and_consent(event: dict[str, Any], required: list[str]) -> None:
    before = copy.deepcopy(event)
    outcome = cast(dict[str, Any], transform(event, _config(tuple(required)), NOW))
    assert event == before
    lacking = {r.lower() for r in required} - _granted(event.get("consent_categories"))
    consent_skip = outcome["status"] == "skipped" and outcome["reason"].startswith("consent:")
    assert consent_skip == bool(lacking), outcome
    if consent_skip:
        assert all(category in outcome["reason"] for category in lacking)
    if outcome["status"] != "ok":
        return
    payload = outcome["payload"]
    errors = [error.message for error in _validator().iter_errors(payload)]
    assert not errors, errors
    data = payload["data"][0]
    user = data.get("user", {})
    for key in ("first_name", "last_name", "zip_code"):
        if key in user:
            assert _SHA256.fullmatch(user[key]), (key, user[key])
    for key in ("city", "state", "country"):
        if key in user:
            assert user[key] == user[key].strip().lower() != "", (key, user[key])
    assert ("lead" in data) == (payload["event_source"] == "crm")
    # Text that the same event without its user also gives is no evidence of a leak.
    control = str(transform({**event, "user": {}}, _config(tuple(required)), NOW)).lower()
    text = str(payload).lower()
    assert not [clear for clear in _clear_texts(event) if clear in text and clear not in control]
