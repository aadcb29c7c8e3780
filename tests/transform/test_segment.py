"""The ``segment`` event spec (docs/fields.md, "Segment messages"): its tables are whole and
documented, and a Segment message gives the payload of the standard event holding the same facts."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.helpers import doc, readme_table

from tiktok_destination.expressions import path_problem
from tiktok_destination.facts import STANDARD_EVENTS
from tiktok_destination.fields import FIELD_NAMES
from tiktok_destination.settings import make_config, validate
from tiktok_destination.specs import SEGMENT_EVENTS, SEGMENT_SOURCES, SPECS
from tiktok_destination.transform.event import transform
from tiktok_destination.transform.readers import READERS
from tiktok_destination.transform.values import BadValue

NOW = 1_700_000_000.0
IDS = {"access_token": "tok", "pixel_id": "P", "app_id": "A", "offline_event_set_id": "O"}
SEGMENT = make_config({**IDS, "event_spec": "segment"})
STANDARD = make_config(IDS)


def test_every_field_record_has_a_source_in_every_spec() -> None:
    for spec in SPECS.values():
        assert list(spec.sources) == list(FIELD_NAMES), spec.name
    paths = [path for paths in SEGMENT_SOURCES.values() for path in paths]
    assert [path for path in paths if path_problem(path)] == []


def test_the_segment_tables_in_the_docs_are_the_code() -> None:
    page = doc("fields")
    events = [
        [row.event, row.web or "—", row.app or "—", row.offline or "—"] for row in SEGMENT_EVENTS
    ]
    assert readme_table("Segment event", page) == events
    sources = [[name, "`, `".join(paths) or "—"] for name, paths in SEGMENT_SOURCES.items()]
    assert readme_table("Segment field", page) == sources


def test_every_tiktok_name_of_the_segment_table_is_standard_and_every_name_once() -> None:
    names = {name for row in SEGMENT_EVENTS for name in row[1:] if name}
    assert names <= STANDARD_EVENTS
    keys = [row.event.strip().lower() for row in SEGMENT_EVENTS]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("name", ["Order Completed", "order completed", "  ORDER COMPLETED "])
def test_names_match_trimmed_in_any_case(name: str) -> None:
    outcome: Any = transform({"type": "track", "event": name, "messageId": "m"}, SEGMENT, NOW)
    assert outcome["status"] == "ok"
    assert outcome["payload"]["data"][0]["event"] == "CompletePayment"


def test_mapping_rows_name_segment_events_in_any_case() -> None:
    rows = [{"event": "order COMPLETED", "tiktok_event": "PlaceAnOrder", "event_source": "web"}]
    config = make_config({**IDS, "event_spec": "segment", "event_mapping": rows})
    outcome: Any = transform({"event": "Order Completed", "messageId": "m"}, config, NOW)
    assert outcome["payload"]["data"][0]["event"] == "PlaceAnOrder"
    twice = [*rows, {**rows[0], "event": "Order Completed"}]
    assert any(
        "event_mapping[1]" in p
        for p in validate({**IDS, "event_spec": "segment", "event_mapping": twice})
    )
    assert validate({**IDS, "event_mapping": twice}) == []  # standard names are exact


def test_the_standard_spec_ignores_a_type_and_reads_event_name() -> None:
    event = {"type": "identify", "event_name": "add_to_cart", "id": "s-1"}
    assert transform(event, STANDARD, NOW)["status"] == "ok"
    assert transform({"type": "track", "event": "Product Added", "id": "s"}, STANDARD, NOW) == {
        "status": "invalid",
        "error": "event_name: missing, empty or not a string",
    }


def test_offline_and_app_columns_are_kept_apart() -> None:
    def sent(source: str, name: str) -> Any:
        message = {"event": name, "messageId": "m", "properties": {"event_source": source}}
        outcome: Any = transform(message, SEGMENT, NOW)
        return outcome["payload"]["data"][0]["event"] if outcome["status"] == "ok" else None

    assert sent("offline", "Form Submitted") == "SubmitForm"
    assert sent("web", "Form Submitted") == "Lead"
    assert sent("app", "Checkout Started") is None  # app events need context.app.namespace
    assert sent("offline", "Product Added") is None


@pytest.mark.parametrize(
    ("value", "status"),
    [
        *[(0, "NOT_DETERMINED"), (1, "RESTRICTED"), (2, "DENIED"), (3, "AUTHORIZED")],
        *[(True, "AUTHORIZED"), (False, "DENIED"), ("authorized", "AUTHORIZED")],
    ],
)
def test_att_status_reads_apple_codes_and_the_ad_tracking_flag(value: Any, status: str) -> None:
    assert READERS["att_status"].read(value) == status


def test_an_unknown_apple_code_is_not_a_status() -> None:
    with pytest.raises(BadValue):
        READERS["att_status"].read(4)


# The property: the same facts, at Segment's paths and at the standard paths.
PAIRS = [
    ("Product Added", "add_to_cart"),
    ("Product Added to Wishlist", "add_to_wishlist"),
    ("Checkout Started", "begin_checkout"),
    ("Payment Info Entered", "add_payment_info"),
    ("Order Completed", "complete_payment"),
    ("Products Searched", "search"),
    ("Signed Up", "sign_up"),
    ("Trial Started", "start_trial"),
]
TEXT = st.text(max_size=12)
MAYBE = st.none() | TEXT
NUMBER = st.none() | st.integers(-5, 10**6) | st.floats(0, 1e6, allow_nan=False) | TEXT
PRODUCT = st.fixed_dictionaries(
    {},
    optional={
        "id": TEXT,
        "price": NUMBER,
        "quantity": st.integers(-2, 50) | TEXT,
        "name": TEXT,
        "category": TEXT,
        "brand": TEXT,
        "content_type": st.sampled_from(["product", "product_group", "socks"]),
    },
)
FACTS = st.fixed_dictionaries(
    {"pair": st.sampled_from(PAIRS), "id": TEXT.filter(str.strip)},
    optional={
        "time": st.integers(int(NOW) - 40 * 86400, int(NOW) + 600)
        | st.just("2023-11-14T22:13:20Z"),
        "user_id": TEXT,
        "email": TEXT | st.just(" Ada@Example.com "),
        "phone": TEXT | st.sampled_from(["+33 6 12 34 56 78", "+1555-555-5555"]),
        "first_name": TEXT,
        "city": TEXT,
        "ip": TEXT,
        "user_agent": TEXT,
        "locale": TEXT | st.just("fr_FR"),
        "url": TEXT | st.just("https://shop.example.com/?ttclid=C1"),
        "referrer": TEXT,
        "ttclid": TEXT,
        "ttp": TEXT,
        "currency": MAYBE | st.just("eur"),
        "value": NUMBER,
        "query": TEXT,
        "content_type": st.sampled_from(["product", "product_group", "bogus"]),
        "products": st.lists(PRODUCT, max_size=3),
    },
)


def _set(node: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    if value is not None:
        node[last] = value


STANDARD_PATHS = {
    "time": "context.event_timestamp",
    "user_id": "user.id",
    "email": "user.email",
    "phone": "user.phone",
    "first_name": "user.first_name",
    "city": "user.city",
    "ip": "context.device.ip",
    "user_agent": "context.device.user_agent",
    "locale": "context.device.language",
    "url": "context.page.url",
    "referrer": "context.page.referrer",
    "ttclid": "partners.tiktok.ttclid",
    "ttp": "partners.tiktok.ttp",
    "currency": "currency",
    "value": "value",
    "query": "search_term",
    "content_type": "content_type",
}
SEGMENT_PATHS = {
    "time": "timestamp",
    "user_id": "userId",
    "email": "context.traits.email",
    "phone": "properties.phone",
    "first_name": "traits.firstName",
    "city": "context.traits.address.city",
    "ip": "context.ip",
    "user_agent": "context.userAgent",
    "locale": "context.locale",
    "url": "context.page.url",
    "referrer": "context.page.referrer",
    "ttclid": "properties.ttclid",
    "ttp": "properties.ttp",
    "currency": "properties.currency",
    "value": "properties.value",
    "query": "properties.query",
    "content_type": "properties.content_type",
}
STANDARD_ITEM = {"id": "id", "price": "product.price", "name": "product.name"}
STANDARD_ITEM |= {"category": "product.category_1", "brand": "product.brand"}
SEGMENT_ITEM = {"id": "product_id"}


def _events(facts: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    segment_name, standard_name = facts["pair"]
    standard: dict[str, Any] = {"event_name": standard_name, "id": facts["id"]}
    segment: dict[str, Any] = {"type": "track", "event": segment_name, "messageId": facts["id"]}
    # The standard spec's description is the event name, its order id the event id.
    segment["properties"] = {"description": standard_name, "order_id": facts["id"]}
    for fact, value in facts.items():
        if fact in STANDARD_PATHS:
            _set(standard, STANDARD_PATHS[fact], value)
            _set(segment, SEGMENT_PATHS[fact], value)
    if "products" in facts:
        standard["items"] = [
            {STANDARD_ITEM.get(key, key): value for key, value in item.items()}
            for item in facts["products"]
        ]
        for item, product in zip(facts["products"], standard["items"], strict=True):
            product.clear()
            for key, value in item.items():
                _set(product, STANDARD_ITEM.get(key, key), value)
        segment["properties"]["products"] = [
            {SEGMENT_ITEM.get(key, key): value for key, value in item.items()}
            for item in facts["products"]
        ]
    return segment, standard


@given(FACTS)
def test_a_segment_message_gives_the_payload_of_the_same_standard_event(facts: Any) -> None:
    segment, standard = _events(facts)
    assert transform(segment, SEGMENT, NOW) == transform(standard, STANDARD, NOW)
