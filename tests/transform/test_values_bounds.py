"""Values TikTok would refuse never leave as ``ok``; values no event holds end ``invalid`` fast."""

from __future__ import annotations

import time
from typing import Any

import pytest
from support.helpers import output_validator

from tiktok_destination.destination import transform_event
from tiktok_destination.expressions import CANNOT_WRITE
from tiktok_destination.transform.values import BadValue, to_json_value, to_locale

SETTINGS = {
    "access_token": "tok",
    "pixel_id": "P1",
    "custom_event_properties": [{"name": "basket", "value": "basket"}],
    "custom_user_properties": [{"name": "tier", "value": "{{user.tier}}"}],
}
NOW = 1_700_000_000


def transform(event: dict[str, Any]) -> dict[str, Any]:
    outcome = dict(transform_event({"event_name": "purchase", "id": "o-1", **event}, SETTINGS, NOW))
    if outcome["status"] == "ok":
        assert list(output_validator().iter_errors(outcome["payload"])) == []
    return outcome


@pytest.mark.parametrize(
    ("price", "quantity"), [(9e14, 9e14), (999_999_999_999_999, 2), ("9e14", "900000000000000")]
)
def test_a_computed_value_too_large_is_invalid(price: Any, quantity: Any) -> None:
    outcome = transform({"items": [{"id": "1", "product": {"price": price}, "quantity": quantity}]})
    assert outcome["status"] == "invalid"
    assert outcome["error"].startswith("value: computed from item_list")


def test_a_computed_value_in_range_is_sent() -> None:
    outcome = transform({"items": [{"id": "1", "product": {"price": 1e7}, "quantity": 1e7}]})
    assert outcome["status"] == "ok"
    assert outcome["payload"]["data"][0]["properties"]["value"] == 10**14


@pytest.mark.parametrize("language", ["fr_١٢٣", "fr_१२३", "ar_٠٠٢", "fr-FR" + "x" * 100])
def test_a_locale_TikTok_would_refuse_is_left_out(language: str) -> None:
    with pytest.raises(BadValue):
        to_locale(language)
    outcome = transform({"context": {"device": {"language": language}}})
    assert outcome["status"] == "ok"
    assert "locale" not in outcome["payload"]["data"][0].get("user", {})
    assert any(w.startswith("device_language: left out") for w in outcome["warnings"])


def test_a_locale_with_a_numeric_region_is_kept() -> None:
    assert to_locale("es_419") == "es-419"


def circular() -> dict[str, Any]:
    loop: dict[str, Any] = {"name": "loop"}
    loop["self"] = [loop]
    return loop


def nested(depth: int) -> list[Any]:
    root: list[Any] = []
    for _ in range(depth):
        root = [root]
    return root


def shared(depth: int) -> list[Any]:
    """Two references to the same list at every level: 2**depth leaves once written out."""
    root: list[Any] = [1]
    for _ in range(depth):
        root = [root, root]
    return root


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (circular(), "nested more than 32 levels deep, or circular"),
        (nested(100_000), "nested more than 32 levels deep, or circular"),
        (shared(30), "more than 100000 values inside"),
        ({1: "x"}, "an object key that is not a string"),
        ({"n": float("nan")}, "finite"),
        ({"n": 2**70}, "too large"),
        ({"s": {1, 2}}, "expected JSON data, got a set"),
    ],
    ids=["circular", "deep", "shared", "int key", "nan", "big int", "set"],
)
def test_a_custom_property_that_is_no_json_ends_invalid_quickly(value: Any, problem: str) -> None:
    started = time.monotonic()
    with pytest.raises(BadValue, match=problem):
        to_json_value(value)
    outcome = transform({"basket": value})
    assert time.monotonic() - started < 10.0
    assert outcome["status"] == "invalid"
    assert outcome["error"].startswith("custom_event_properties.basket:")
    assert problem in outcome["error"]


@pytest.mark.parametrize("value", [circular(), nested(100_000)], ids=["circular", "deep"])
def test_a_template_reading_a_value_that_is_no_json_ends_invalid(
    value: Any, caplog: pytest.LogCaptureFixture
) -> None:
    started = time.monotonic()
    outcome = transform({"user": {"tier": value}})
    assert time.monotonic() - started < 10.0
    assert outcome["status"] == "invalid"
    problem = CANNOT_WRITE
    assert outcome["error"] == f"custom_user_properties.tier: {problem}"
    smart = {**SETTINGS, "smart_mapping": {"description": "Basket {{basket}}"}}
    event = {"event_name": "purchase", "id": "o-2", "basket": value}
    outcome = dict(transform_event(event, smart, NOW))
    assert (outcome["status"], outcome["error"]) == ("invalid", f"description: {problem}")
    assert caplog.records == []  # an outcome, not a bug with a traceback in the log


def test_json_within_the_bounds_is_kept_as_it_is() -> None:
    value = {"a": nested(30), "b": list(range(1000)), "c": {"d": None, "e": 1.5, "f": "x"}}
    assert to_json_value(value) is value
    outcome = transform({"basket": value})
    assert outcome["status"] == "ok"
    assert outcome["payload"]["data"][0]["properties"]["basket"] == value
