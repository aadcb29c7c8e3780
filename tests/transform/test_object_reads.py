"""The fitted walk's object reads (``transform/object_reads.py``) against the general walk.

The property tests hold the two walks alike on random events; these cases name what random
events rarely hit: two keys of one object both set, empty values of each kind before a good
one, an object that is not an object, a list index, a template, and the section's key order
left to the walk.
"""

from __future__ import annotations

import copy
from typing import Any, cast

import pytest

from tiktok_destination.expressions import object_keys
from tiktok_destination.settings import make_config
from tiktok_destination.transform.assembly import walked_twin
from tiktok_destination.transform.event import transform

NOW = 1_700_000_000.0
SETTINGS = {
    "access_token": "tok-objects",
    "pixel_id": "PIXEL",
    "smart_mapping": {
        "device_user_agent": ["context.device.ua", "context.device.user_agent"],
        "device_ip": ["context.ip", "context.device.ip"],  # two objects: walked
        "transaction_id": "order.0.id",  # a list index: walked
        "description": "{{context.page.title}} ({{event_name}})",  # a template: walked
        "item_name": ["product.title", "product.name"],
        "shop_id": {"value": "SHOP-1"},  # a constant: walked
    },
}


def _both_walks(event: dict[str, Any]) -> dict[str, Any]:
    """The outcome of ``event`` (a copy of it), held equal to the general walk's."""
    config = make_config(SETTINGS)
    outcome = transform(copy.deepcopy(event), config, NOW)
    assert outcome == transform(event, walked_twin(config), NOW)
    return cast(dict[str, Any], outcome)


def _event(**device: Any) -> dict[str, Any]:
    return {
        "event_name": "purchase",
        "context": {
            "event_id": "e-1",
            "event_timestamp": 1_699_999_000,
            "device": device,
            "page": {"url": "https://shop.example/", "title": "Checkout"},
        },
        "order": [{"id": "ORD-1"}],
        "currency": "EUR",
        "items": [{"id": "SKU-1", "product": {"title": "", "name": "Linen shirt", "price": 10}}],
    }


@pytest.mark.parametrize(
    ("device", "sent"),
    [
        ({"ua": "first", "user_agent": "second"}, "first"),
        ({"ua": "", "user_agent": "second"}, "second"),
        ({"ua": [], "user_agent": "second"}, "second"),
        ({"ua": {}, "user_agent": "second"}, "second"),
        ({"ua": None, "user_agent": "second"}, "second"),
        ({"ua": 0, "user_agent": "second"}, "0"),
        ({"ua": "  ", "user_agent": "second"}, None),  # read as trimmed text: nothing
        ({"user_agent": 12.5}, "12.5"),
        ({}, None),
    ],
)
def test_the_first_key_not_empty_is_read_as_its_getter_reads_it(
    device: dict[str, Any], sent: str | None
) -> None:
    outcome = _both_walks(_event(**device))
    assert outcome["status"] == "ok", outcome
    assert outcome["payload"]["data"][0].get("user", {}).get("user_agent") == sent


@pytest.mark.parametrize("device", ["a text", ["a", "list"], 7, None])
def test_an_object_that_is_not_one_holds_no_field(device: Any) -> None:
    event = _event()
    event["context"]["device"] = device
    outcome = _both_walks(event)
    assert "user_agent" not in outcome["payload"]["data"][0].get("user", {})


def test_paths_into_more_than_one_object_are_walked_alike() -> None:
    event = _event(user_agent="agent", ip="203.0.113.9")
    outcome = _both_walks(event)
    data = outcome["payload"]["data"][0]
    assert data["user"]["ip"] == "203.0.113.9"
    assert data["properties"]["order_id"] == "ORD-1"
    assert data["properties"]["description"] == "Checkout (purchase)"
    assert data["properties"]["shop_id"] == "SHOP-1"
    assert data["properties"]["contents"] == [
        {
            "content_type": "product",
            "content_id": "SKU-1",
            "content_name": "Linen shirt",
            "price": 10,
        }
    ]


def test_a_bad_value_is_named_by_both_walks() -> None:
    event = _event(user_agent={"not": "text"})
    outcome = _both_walks(event)
    assert outcome["status"] == "invalid"
    assert outcome["error"].startswith("device_user_agent: ")


@pytest.mark.parametrize(
    ("expression", "found"),
    [
        ("a", ((), ("a",))),
        ("a.b.c", (("a", "b"), ("c",))),
        (["a.b", "a.c"], (("a",), ("b", "c"))),
        (["a.b", "x.c"], None),
        ("a.0.b", None),
        ("{{a.b}}", None),
        (["a.b", "{{a.c}}"], None),
        ({"value": 1}, None),
        ([], None),
    ],
)
def test_object_keys_names_the_object_and_its_keys(expression: Any, found: Any) -> None:
    assert object_keys(expression) == found


@pytest.mark.parametrize("empty", ["", [], {}, None])
def test_an_empty_value_of_one_key_is_not_sent(empty: Any) -> None:
    event = _event()
    event["status"] = empty  # transaction_status: read from one key, as text
    outcome = _both_walks(event)
    assert outcome["status"] == "ok", outcome
    assert "status" not in outcome["payload"]["data"][0]["properties"]
