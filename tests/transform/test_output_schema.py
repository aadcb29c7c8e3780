"""The output schema (schemas/event-track-request.schema.json) checked on its own.

A valid draft 2020-12 schema; hand-written web and app request bodies validate; each broken body
in the table fails, and fails for the reason the table names (the error's path).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from support.helpers import OUTPUT_SCHEMA

from tiktok_destination import resources

SCHEMA = resources.load_json(OUTPUT_SCHEMA)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


EMAIL_HASH = sha256("jane.doe@example.com")
PHONE_HASH = sha256("+33612345678")
USER_ID_HASH = sha256("customer-42")


def web_payload() -> dict[str, Any]:
    return {
        "event_source": "web",
        "event_source_id": "CEXAMPLEPIXEL0000001",
        "data": [
            {
                "event": "CompletePayment",
                "event_time": 1732441200,
                "event_id": "order-1001",
                "user": {
                    "email": EMAIL_HASH,
                    "phone": [PHONE_HASH, sha256("+33700000000")],
                    "external_id": USER_ID_HASH,
                    "ttclid": "E.C.P.abc123",
                    "ttp": "2abcTTPcookieValue",
                    "ip": "203.0.113.7",
                    "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
                    "locale": "fr-FR",
                    "loyalty_tier": "gold",
                },
                "page": {
                    "url": "https://shop.example.com/checkout/done",
                    "referrer": "https://shop.example.com/checkout",
                },
                "properties": {
                    "contents": [
                        {
                            "content_id": "SKU-1",
                            "content_type": "product",
                            "content_name": "Sneaker",
                            "content_category": "Shoes",
                            "brand": "Acme",
                            "price": 89.9,
                            "quantity": 2,
                        },
                        {"content_id": "SKU-2", "content_type": "product"},
                    ],
                    "content_ids": ["SKU-1", "SKU-2"],
                    "content_type": "product",
                    "currency": "EUR",
                    "value": 179.8,
                    "num_items": 2,
                    "order_id": "1001",
                    "shop_id": "paris-01",
                    "status": "paid",
                    "description": "purchase",
                    "coupon": "WELCOME10",
                    "gift": False,
                },
                "limited_data_use": False,
            }
        ],
    }


def app_payload() -> dict[str, Any]:
    return {
        "event_source": "app",
        "event_source_id": "7000000000000000001",
        "test_event_code": "TEST12345",
        "data": [
            {
                "event": "LaunchAPP",
                "event_time": 1732441260,
                "event_id": "launch-1",
                "user": {
                    "idfa": "6D92078A-8246-4BA4-AE5B-76104861E7DC",
                    "idfv": "599F9C00-92DC-4B5C-9464-7971F01F8370",
                    "att_status": "AUTHORIZED",
                    "ip": "2001:db8::1",
                    "locale": "zh-Hant-TW",
                },
                "app": {
                    "app_id": "343200656",
                    "app_name": "Example Shop",
                    "app_version": "4.2.0",
                },
            },
            {
                "event": "Search",
                "event_time": 1732441270,
                "event_id": "search-1",
                "user": {"gaid": "38400000-8cf0-11bd-b23e-10b96e40000d", "locale": "es-419"},
                "app": {"app_id": "com.example.shop"},
                "properties": {"search_string": "red shoes"},
            },
        ],
    }


def test_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"].endswith("/event-track-request.schema.json")
    assert SCHEMA["title"] and SCHEMA["description"]


def test_schema_file_in_repository_matches_what_is_loaded() -> None:
    path = Path(__file__).parents[2] / OUTPUT_SCHEMA
    assert json.loads(path.read_text(encoding="utf-8")) == SCHEMA


@pytest.mark.parametrize("build", [web_payload, app_payload], ids=["web", "app"])
def test_valid_payloads(
    build: Callable[[], dict[str, Any]], output_schema: Draft202012Validator
) -> None:
    errors = [error.message for error in output_schema.iter_errors(build())]
    assert errors == []


@pytest.mark.parametrize("source", ["offline", "crm"])
def test_offline_and_crm_payloads_validate(
    source: str, output_schema: Draft202012Validator
) -> None:
    payload = web_payload()
    payload["event_source"] = source
    payload["event_source_id"] = "7654321098765432109"
    if source == "crm":
        payload["data"][0]["lead"] = {
            "lead_id": "7211111111111111111",
            "lead_event_source": "HubSpot",
        }
    assert output_schema.is_valid(payload)


@pytest.mark.parametrize(
    ("source", "lead", "valid"),
    [
        ("crm", None, False),  # TikTok requires lead.lead_id on crm events
        ("crm", {"lead_event_source": "HubSpot"}, False),
        ("crm", {"lead_id": ""}, False),
        ("crm", {"lead_id": "L-1", "extra": 1}, False),
        ("crm", {"lead_id": "L-1"}, True),
        ("web", {"lead_id": "L-1"}, False),  # lead goes with crm events only
        ("offline", {"lead_id": "L-1"}, False),
    ],
)
def test_lead_goes_with_crm_events_only(
    source: str, lead: Any, valid: bool, output_schema: Draft202012Validator
) -> None:
    payload = web_payload()
    payload["event_source"] = source
    if lead is not None:
        payload["data"][0]["lead"] = lead
    assert output_schema.is_valid(payload) is valid


@pytest.mark.parametrize(
    ("key", "value", "valid"),
    [
        ("first_name", "a" * 64, True),
        ("first_name", "Jane", False),  # names are hashed
        ("last_name", "A" * 64, False),  # lower-case hex
        ("zip_code", "75001", False),
        ("zip_code", "0" * 64, True),
        ("city", "paris", True),
        ("city", "Paris", False),  # lower-cased
        ("state", " idf", False),  # trimmed
        ("country", "fr", True),
        ("country", "", False),
    ],
)
def test_match_keys(key: str, value: str, valid: bool, output_schema: Draft202012Validator) -> None:
    payload = web_payload()
    payload["data"][0]["user"][key] = value
    assert output_schema.is_valid(payload) is valid


def test_minimal_event_validates(output_schema: Draft202012Validator) -> None:
    payload = {
        "event_source": "web",
        "event_source_id": "CEXAMPLEPIXEL0000001",
        "data": [{"event": "ViewContent", "event_time": 1, "event_id": "x"}],
    }
    assert output_schema.is_valid(payload)


def test_a_full_batch_of_1000_events_validates(output_schema: Draft202012Validator) -> None:
    payload = web_payload()
    payload["data"] = [dict(payload["data"][0], event_id=f"e{i}") for i in range(1000)]
    assert output_schema.is_valid(payload)


Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    """Set ``value`` at a dotted path (numbers index lists); the last key may be new."""

    def mutate(payload: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = payload
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[int(last) if isinstance(node, list) else last] = value

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(payload: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = payload
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        del node[last]

    return mutate


def _events(count: int) -> Mutation:
    def mutate(payload: dict[str, Any]) -> None:
        event = payload["data"][0]
        payload["data"] = [dict(event, event_id=f"e{i}") for i in range(count)]

    return mutate


# (id, base payload, mutation, a path element the error must mention)
BROKEN: list[tuple[str, Callable[[], dict[str, Any]], Mutation, str]] = [
    ("clear-text email", web_payload, _set("data.0.user.email", "jane.doe@example.com"), "email"),
    (
        "clear-text phone in list",
        web_payload,
        _set("data.0.user.phone", [PHONE_HASH, "+33612345678"]),
        "phone",
    ),
    (
        "upper-case hash",
        web_payload,
        _set("data.0.user.external_id", USER_ID_HASH.upper()),
        "external_id",
    ),
    ("short hash", web_payload, _set("data.0.user.email", EMAIL_HASH[:63]), "email"),
    ("empty email list", web_payload, _set("data.0.user.email", []), "email"),
    ("event_time as string", web_payload, _set("data.0.event_time", "1732441200"), "event_time"),
    (
        "event_time in milliseconds",
        web_payload,
        _set("data.0.event_time", 1732441200123),
        "event_time",
    ),
    ("event_time zero", web_payload, _set("data.0.event_time", 0), "event_time"),
    ("event_time float", web_payload, _set("data.0.event_time", 1732441200.5), "event_time"),
    ("event_id as int", web_payload, _set("data.0.event_id", 1001), "event_id"),
    ("empty event_id", web_payload, _set("data.0.event_id", ""), "event_id"),
    ("missing event_id", web_payload, _delete("data.0.event_id"), "data"),
    ("empty event name", web_payload, _set("data.0.event", ""), "event"),
    ("missing event_time", web_payload, _delete("data.0.event_time"), "data"),
    ("unknown event_source", web_payload, _set("event_source", "email"), "event_source"),
    ("upper-case event_source", web_payload, _set("event_source", "WEB"), "event_source"),
    ("empty event_source_id", web_payload, _set("event_source_id", ""), "event_source_id"),
    (
        "numeric event_source_id",
        web_payload,
        _set("event_source_id", 7000000000000000001),
        "event_source_id",
    ),
    ("missing event_source_id", web_payload, _delete("event_source_id"), ""),
    ("empty test_event_code", web_payload, _set("test_event_code", ""), "test_event_code"),
    ("app event without app", app_payload, _delete("data.0.app"), "data"),
    ("app event without app.app_id", app_payload, _delete("data.0.app.app_id"), "app"),
    ("app event with empty app_id", app_payload, _set("data.0.app.app_id", ""), "app_id"),
    ("app event with page", app_payload, _set("data.0.page", {"url": "https://x.example"}), "data"),
    ("web event with app", web_payload, _set("data.0.app", {"app_id": "343200656"}), "data"),
    ("empty data", web_payload, _set("data", []), "data"),
    ("data not a list", web_payload, _set("data", {"event": "ViewContent"}), "data"),
    ("1001 events", web_payload, _events(1001), "data"),
    ("quantity 1.5", web_payload, _set("data.0.properties.contents.0.quantity", 1.5), "quantity"),
    (
        "negative quantity",
        web_payload,
        _set("data.0.properties.contents.0.quantity", -1),
        "quantity",
    ),
    ("price as string", web_payload, _set("data.0.properties.contents.0.price", "89.90"), "price"),
    (
        "content_id as int",
        web_payload,
        _set("data.0.properties.contents.0.content_id", 1077218),
        "content_id",
    ),
    (
        "unknown item content_type",
        web_payload,
        _set("data.0.properties.contents.0.content_type", "socks"),
        "content_type",
    ),
    (
        "unknown key in a content item",
        web_payload,
        _set("data.0.properties.contents.0.sku", "SKU-1"),
        "contents",
    ),
    ("empty content item", web_payload, _set("data.0.properties.contents.1", {}), "contents"),
    ("empty contents", web_payload, _set("data.0.properties.contents", []), "contents"),
    ("empty content_ids", web_payload, _set("data.0.properties.content_ids", []), "content_ids"),
    (
        "unknown properties content_type",
        web_payload,
        _set("data.0.properties.content_type", "article"),
        "content_type",
    ),
    ("currency eur", web_payload, _set("data.0.properties.currency", "eur"), "currency"),
    ("currency symbol", web_payload, _set("data.0.properties.currency", "€"), "currency"),
    ("value as string", web_payload, _set("data.0.properties.value", "179.80"), "value"),
    ("num_items float", web_payload, _set("data.0.properties.num_items", 2.5), "num_items"),
    ("empty order_id", web_payload, _set("data.0.properties.order_id", ""), "order_id"),
    ("empty properties", web_payload, _set("data.0.properties", {}), "properties"),
    ("unknown top-level key", web_payload, _set("partner_name", "cdp"), ""),
    ("unknown key in an event", web_payload, _set("data.0.context", {"ip": "203.0.113.7"}), "data"),
    ("unknown key in page", web_payload, _set("data.0.page.title", "Checkout"), "page"),
    ("unknown key in app", app_payload, _set("data.0.app.bundle", "x"), "app"),
    ("empty page", web_payload, _set("data.0.page", {}), "page"),
    ("empty page url", web_payload, _set("data.0.page.url", ""), "url"),
    ("empty user object", web_payload, _set("data.0.user", {}), "user"),
    ("empty ttclid", web_payload, _set("data.0.user.ttclid", ""), "ttclid"),
    ("locale with underscore", web_payload, _set("data.0.user.locale", "fr_FR"), "locale"),
    ("unknown att_status", app_payload, _set("data.0.user.att_status", "authorized"), "att_status"),
    (
        "limited_data_use as string",
        web_payload,
        _set("data.0.limited_data_use", "true"),
        "limited_data_use",
    ),
]


@pytest.mark.parametrize(
    ("base", "mutate", "where"),
    [pytest.param(base, mutate, where, id=name) for name, base, mutate, where in BROKEN],
)
def test_broken_payloads_fail(
    base: Callable[[], dict[str, Any]],
    mutate: Mutation,
    where: str,
    output_schema: Draft202012Validator,
) -> None:
    payload = copy.deepcopy(base())
    assert output_schema.is_valid(payload), "the base payload must be valid"
    mutate(payload)
    errors = list(output_schema.iter_errors(payload))
    assert errors, "expected the schema to reject this payload"
    if where:
        places = {str(part) for error in errors for part in error.absolute_path}
        assert where in places, f"no error at {where!r}: {[e.message for e in errors]}"
