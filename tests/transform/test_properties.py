"""Property tests: whatever the event, the transform returns one outcome and never raises.

Every ``ok`` payload validates against the Events API 2.0 request schema, is plain JSON (no NaN or
infinity), carries no clear-text email or phone, and the same event gives the same outcome. Events
are arbitrary JSON, event-shaped JSON, and realistic events with random mutations at random paths.

Settings vary too: four hand-written variants, and generated settings (ids, event mapping, smart
mapping, custom properties, numbers written as floats, NaN...). Whatever the settings, validation
answers with short problems that never show the token; settings that validate compile into a
config with the types it promises, the hook gives the same outcome as the transform, and the
requests delivery would make respect ``batch_size``, the test-code rule and the byte cap.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Iterator
from functools import cache
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as record
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from support.helpers import output_validator
from support.profiles import examples

from tiktok_destination.settings import Config, make_config
from tiktok_destination.transform.assembly import walked_twin
from tiktok_destination.transform.event import transform

NOW = 1_700_000_000.25
PROPERTY_SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ---------------------------------------------------------------------------------------------
# Settings variants, each with the event paths its email and phone are read from.

DEFAULT_EMAIL_PATHS = (("user", "email"), ("user", "email_sha256"))
DEFAULT_PHONE_PATHS = (("user", "phone"), ("user", "phone_sha256"))

VARIANTS: dict[str, dict[str, Any]] = {
    "web_only": {
        "settings": {"access_token": "tok-web", "pixel_id": "PIXEL1"},
        "email_paths": DEFAULT_EMAIL_PATHS,
        "phone_paths": DEFAULT_PHONE_PATHS,
    },
    "app_and_pixel": {
        "settings": {
            "access_token": "tok-both",
            "pixel_id": "PIXEL2",
            "app_id": "7123456789",
            "autodiscover_event_source": True,
            "view_content_events": ["page_view", "view_item"],
            "default_phone_region": "FR",
        },
        "email_paths": DEFAULT_EMAIL_PATHS,
        "phone_paths": DEFAULT_PHONE_PATHS,
    },
    "smart_mapping": {
        "settings": {
            "access_token": "tok-smart",
            "pixel_id": "PIXEL3",
            "app_id": "7000000001",
            "offline_event_set_id": "OFFLINE3",
            "test_event_code": "TEST42",
            "autodiscover_event_source": True,
            "default_phone_region": "FR",
            "event_mapping": [
                {"event": "refund", "tiktok_event": "Refund"},
                {"event": "purchase", "tiktok_event": "Purchase", "event_source": "web"},
                {"event": "page_view", "tiktok_event": "Pageview", "event_source": "web"},
            ],
            "smart_mapping": {
                "user_email": ["user.emails", "user.email", "user.email_sha256"],
                "user_phone": ["user.phone", "{{user.phone_prefix}}{{user.phone_number}}"],
                "experience_type": "context.experience",
                "event_id": ["id", "context.event_id", "{{user.id}}-{{context.event_timestamp}}"],
                "currency": ["currency", {"value": "EUR"}],
                "transaction_value": ["value", "revenue"],
                "item_name": "{{product.brand}} {{product.name}}",
                "item_id": ["id", "product.sku"],
                "item_price": ["product.price", "price"],
                "limited_data_use": ["partners.tiktok.ldu", {"value": False}],
                "device_language": ["context.device.language", "context.locale"],
                "click_id": ["partners.tiktok.ttclid", "context.campaign.ttclid"],
            },
        },
        "email_paths": (("user", "emails"), *DEFAULT_EMAIL_PATHS),
        "phone_paths": (("user", "phone_prefix"), ("user", "phone_number"), *DEFAULT_PHONE_PATHS),
    },
    "custom_properties": {
        "settings": {
            "access_token": "tok-custom",
            "pixel_id": "PIXEL4",
            "crm_event_set_id": "CRM4",
            "lowercase_user_id": False,
            "default_phone_region": "US",
            "custom_event_properties": [
                {"name": "coupon", "value": "coupon"},
                {"name": "channel", "value": {"value": "server"}},
                {"name": "basket", "value": "items"},
                {"name": "tier_label", "value": "Tier {{user.tier}}"},
            ],
            "custom_user_properties": [
                {"name": "loyalty_tier", "value": ["user.tier", {"value": "none"}]},
            ],
        },
        "email_paths": DEFAULT_EMAIL_PATHS,
        "phone_paths": DEFAULT_PHONE_PATHS,
    },
}


@cache
def config_of(variant: str) -> Config:
    return make_config(VARIANTS[variant]["settings"])


# ---------------------------------------------------------------------------------------------
# Realistic valid events: the starting points of the mutations.

UA_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
UA_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/119.0.0.0 Safari/537.36"
)

WEB_PURCHASE: dict[str, Any] = {
    "event_name": "purchase",
    "id": "ORD-100042",
    "value": 89.7,
    "currency": "eur",
    "coupon": "WELCOME10",
    "status": "paid",
    "items": [
        {
            "id": "SKU-1",
            "quantity": 2,
            "product": {
                "name": "Linen shirt",
                "price": 29.9,
                "category_1": "Shirts",
                "brand": "Maison",
            },
        },
        {"id": "SKU-2", "quantity": 1, "product": {"name": "Belt", "price": 29.9}},
    ],
    "context": {
        "event_timestamp": 1_699_999_000_123,
        "page": {
            "url": "https://shop.example.com/checkout/done?ttclid=E.C.P.abc123&utm_source=tt",
            "referrer": "https://shop.example.com/checkout",
        },
        "device": {
            "ip": "203.0.113.7",
            "user_agent": UA_CHROME,
            "language": "fr_FR",
            "cookie": "_ttp=2Xy9TTPcookie; session=abc; ttclid=cookieclick",
        },
    },
    "user": {
        "id": "Customer-42",
        "email": "  Jane.Doe@Example.COM ",
        "phone": "+33 6 12 34 56 78",
        "tier": "gold",
    },
    "partners": {"tiktok": {"shop_id": "SHOP9", "ldu": "false"}},
}

WEB_VIEW_ITEM: dict[str, Any] = {
    "event_name": "view_item",
    "context": {
        "event_timestamp": "2023-11-14T22:13:20.123+01:00",
        "page": {"url": "https://shop.example.com/p/linen-shirt", "referrer": "https://t.co/"},
        "device": {"ip": "2001:db8::1", "user_agent": UA_IPHONE, "lang": "en-us"},
        "cookie": "_ttp=abcTTP",
    },
    "items": [{"id": 1234, "product": {"name": "Linen shirt", "price": "29.90"}}],
    "user": {"id": 987654321},
}

WEB_PAGE_VIEW: dict[str, Any] = {
    "event_name": "page_view",
    "context": {
        "event_id": "pv-7f3a",
        "event_timestamp": 1_699_999_999,
        "page": {"url": "https://blog.example.org/?ttclid=CLICK77"},
        "device": {"user_agent": UA_CHROME, "ip": "198.51.100.23"},
    },
}

WEB_SIGN_UP: dict[str, Any] = {
    "event_name": "sign_up",
    "id": "reg-55",
    "context": {
        "event_timestamp": "1700000000000",
        "page": {"url": "https://shop.example.com/register"},
        "device": {"cookie": {"_ttp": "dictTTP", "ttclid": "dictclick"}},
    },
    "user": {
        "id": "  MixedCase-ID ",
        "email": ["first@example.com", "Second@Example.org"],
        "phone": ["06 12 34 56 78", "+1 (415) 555-0132"],
    },
    "partners": {"tiktok": {"ttp": "explicitTTP", "ttclid": "explicitclick", "ldu": True}},
}

WEB_LEAD_PREHASHED: dict[str, Any] = {
    "event_name": "generate_lead",
    "id": "lead-1",
    "context": {"event_timestamp": 1_700_000_001},
    "user": {
        "email_sha256": "A" * 64,
        "phone_sha256": "0123456789abcdef" * 4,
        "phone_prefix": "+44",
        "phone_number": "7911 123456",
    },
}

WEB_SEARCH: dict[str, Any] = {
    "event_name": "search",
    "search_term": "linen shirt",
    "context": {"page": {"url": "https://shop.example.com/search?q=linen"}},
}

OFFLINE_PURCHASE: dict[str, Any] = {
    "event_name": "complete_payment",
    "id": "POS-3",
    "value": "120.00",
    "currency": "USD",
    "user": {"email": "store.buyer@example.net", "phone": "(415) 555-0199"},
    "partners": {"tiktok": {"event_source": "offline"}},
}

APP_IOS_PURCHASE: dict[str, Any] = {
    "event_name": "purchase",
    "id": "app-order-9",
    "value": 4.99,
    "currency": "USD",
    "items": [{"id": "coins-500", "quantity": 1, "product": {"price": 4.99, "name": "500 coins"}}],
    "context": {
        "event_timestamp": 1_700_000_100_000,
        "app": {"namespace": "com.example.game", "name": "Example Game", "version": "3.2.1"},
        "device": {
            "type": "iOS",
            "advertising_id": "6D92078A-8246-4BA4-AE5B-76104861E7DC",
            "idfv": "B7A1C5E2-1111-2222-3333-444455556666",
            "att_status": "authorized",
            "ip": "192.0.2.44",
            "user_agent": "ExampleGame/3.2.1 CFNetwork/1474 Darwin/23.0.0",
            "language": "en_US",
        },
    },
    "user": {"id": "player-77", "email": "Player77@Example.com"},
}

APP_ANDROID_LAUNCH: dict[str, Any] = {
    "event_name": "launch_app",
    "context": {
        "experience": "native app",
        "event_timestamp": "2023-11-14T22:13:20Z",
        "app": {"namespace": "com.example.shop", "version": "10.4"},
        "device": {
            "type": "android",
            "advertising_id": "38400000-8cf0-11bd-b23e-10b96e40000d",
            "language": "pt_BR",
        },
    },
    "user": {"phone": "+55 11 91234-5678"},
    "partners": {"tiktok": {"event_source": "app"}},
}

APP_AD_ITEM_GROUP: dict[str, Any] = {
    "event_name": "add_to_cart",
    "id": "app-ad-1",
    "content_type": "product_group",
    "search_term": "boots",
    "items": [{"id": "G-1", "currency": "eur", "product": {"price": 4}, "quantity": 2}],
    "context": {"app": {"namespace": "com.example.shop"}, "device": {"type": "ios"}},
    "partners": {
        "tiktok": {
            "event_source": "app",
            "ad": {
                "callback": "cb",
                "campaign_id": 7,
                "ad_id": "8",
                "creative_id": "9",
                "is_retargeting": True,
                "attributed": "false",
                "attribution_type": "click",
                "attribution_provider": "Adjust",
            },
        }
    },
}

BASE_EVENTS: dict[str, dict[str, Any]] = {
    "web_purchase": WEB_PURCHASE,
    "web_view_item": WEB_VIEW_ITEM,
    "web_page_view": WEB_PAGE_VIEW,
    "web_sign_up": WEB_SIGN_UP,
    "web_lead_prehashed": WEB_LEAD_PREHASHED,
    "web_search": WEB_SEARCH,
    "offline_purchase": OFFLINE_PURCHASE,
    "app_ios_purchase": APP_IOS_PURCHASE,
    "app_android_launch": APP_ANDROID_LAUNCH,
    "app_ad_item_group": APP_AD_ITEM_GROUP,
}

# ---------------------------------------------------------------------------------------------
# Strategies.

KNOWN_KEYS = (
    "event_name", "id", "value", "currency", "items", "context", "page", "url", "referrer",
    "device", "type", "ip", "user_agent", "language", "lang", "cookie", "advertising_id", "idfv",
    "att_status", "app", "namespace", "ad", "callback", "campaign_id", "ad_id", "creative_id",
    "is_retargeting", "attributed", "attribution_type", "attribution_provider", "name", "version",
    "user", "email", "email_sha256", "phone",
    "phone_sha256", "partners", "tiktok", "event_source", "ttclid", "ttp", "ldu", "shop_id",
    "event_timestamp", "event_id", "product", "price", "quantity", "content_type", "search_term",
    "status", "experience", "emails", "phone_number", "phone_prefix", "tier", "coupon", "revenue",
)  # fmt: skip

EVENT_NAMES = (
    "purchase", "page_view", "view_item", "add_to_cart", "sign_up", "launch_app", "search",
    "generate_lead", "complete_payment", "refund", "achieve_level", "begin_checkout",
    "totally_custom", "", " ", "PURCHASE",
)  # fmt: skip

TRICKY_STRINGS = (
    "", " ", "\t\n", "web", "app", "offline", "crm", "tv", "native app", "Native App", "ios",
    "iOS", "android", "ANDROID", "product", "product_group", "service", "eur", "EUR", "euro",
    "true", "false", "TRUE", "yes", "0", "-1", "1e400", "NaN", "Infinity", "-0", "0x1F",
    "1700000000", "1700000000000", "99999999999999999999", "2023-11-14T22:13:20Z",
    "2023-02-30", "2023-11-14T25:00:00", "9999-12-31T23:59:59-23:59", "0000-01-01",
    "fr_FR", "zh_Hant_TW", "en-US.UTF-8@euro", "x-klingon", "AUTHORIZED", "denied",
    "Not Determined", "bogus", "+33612345678", "06 12 34 56 78", "+1 (415) 555-0132",
    "+999123456789", "12",
    "+" + "9" * 70, "a@b.co", "  MiXeD@Example.COM ", "f" * 64, "F" * 63, "{{user.id}}",
    "_ttp=abc; ttclid=xyz", "_ttp=", ";;==;", "ttclid", "https://x.example/?ttclid=",
    "https://x.example/?ttclid=abc&ttclid=def", "http://[::1", "é" * 5, "\u0000", "😀",
)  # fmt: skip

HUGE_NUMBERS = (10**20, 2**63, -(2**63), 10**400, -(10**400), 1e308, -1e308, 5e-324)
# Ints past Python's 4300-digit str() limit break hypothesis' own printing; tested below by hand.
TOO_LONG_TO_PRINT = 10**5000

json_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from(HUGE_NUMBERS)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(st.characters(codec="utf-8"), max_size=20)
    | st.sampled_from(TRICKY_STRINGS)
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A key's value, or no key at all (``None`` is dropped below)."""
    return st.one_of(st.just(_ABSENT), strategy)


_ABSENT = object()


def _object(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({key: _maybe(value) for key, value in fields.items()}).map(
        lambda d: {key: value for key, value in d.items() if value is not _ABSENT}
    )


def _or_json(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly ``strategy``, a third of the time any JSON value."""
    return _weighted(strategy, json_values, 2)


def _weighted(
    usual: st.SearchStrategy[Any], other: st.SearchStrategy[Any], weight: int
) -> st.SearchStrategy[Any]:
    """``usual`` ``weight`` times out of ``weight + 1``, else ``other``."""
    return st.integers(0, weight).flatmap(lambda pick: other if pick == 0 else usual)


# Per field: values that are mostly plausible, sometimes anything at all.
ids = _or_json(st.text(max_size=12) | st.integers())
numbers = _or_json(
    st.integers(-5, 10**6) | st.floats(-1e6, 1e6) | st.sampled_from(["19.90", " 3 ", "1e3", "x"])
)
texts = _or_json(st.text(max_size=12) | st.sampled_from(TRICKY_STRINGS))
timestamps = _or_json(
    st.integers(1, 2 * 10**12)
    | st.floats(1e9, 2e12)
    | st.datetimes().map(lambda moment: moment.isoformat())
    | st.sampled_from(TRICKY_STRINGS)
)
urls = _or_json(
    st.sampled_from(
        [
            "https://shop.example.com/p?ttclid=abc",
            "https://shop.example.com/?ttclid=&x=1",
            "/relative/path?ttclid=rel",
            "not a url",
        ]
    )
)
emails = _or_json(st.emails() | st.lists(st.emails() | texts, max_size=3) | texts)
phones = _or_json(
    st.sampled_from(["+33612345678", "06 12 34 56 78", "+1 (415) 555-0132", "5550132", "+44"])
    | st.from_regex(r"\+?[0-9 ()-]{4,20}", fullmatch=True)
    | st.lists(st.sampled_from(["+33612345678", "0612345678", "bad"]), max_size=3)
)

event_shaped_body = _object(
    id=ids,
    value=numbers,
    currency=texts,
    search_term=texts,
    status=texts,
    content_type=texts,
    coupon=json_values,
    items=_or_json(
        st.lists(
            _or_json(
                _object(
                    id=ids,
                    quantity=numbers,
                    content_type=_or_json(st.sampled_from(["product", "product_group", "x"])),
                    product=_or_json(
                        _object(price=numbers, name=texts, category_1=texts, brand=texts, sku=ids)
                    ),
                )
            ),
            max_size=3,
        )
    ),
    context=_or_json(
        _object(
            event_timestamp=timestamps,
            event_id=ids,
            experience=texts,
            page=_or_json(_object(url=urls, referrer=urls)),
            device=_or_json(
                _object(
                    type=texts,
                    cookie=texts,
                    advertising_id=ids,
                    idfv=ids,
                    att_status=texts,
                    language=texts,
                    lang=texts,
                    ip=texts,
                    user_agent=texts,
                )
            ),
            app=_or_json(_object(namespace=ids, name=texts, version=ids)),
            cookie=texts,
        )
    ),
    user=_or_json(
        _object(
            id=ids,
            email=emails,
            email_sha256=texts,
            emails=emails,
            phone=phones,
            phone_sha256=texts,
            phone_prefix=phones,
            phone_number=phones,
            tier=json_values,
        )
    ),
    partners=_or_json(
        _object(
            tiktok=_or_json(
                _object(
                    event_source=texts,
                    ttclid=ids,
                    ttp=ids,
                    shop_id=ids,
                    ldu=_or_json(st.sampled_from([True, False, "true", "FALSE", "no"])),
                    ad=_or_json(
                        _object(
                            callback=ids,
                            campaign_id=ids,
                            ad_id=ids,
                            creative_id=ids,
                            is_retargeting=_or_json(st.sampled_from([True, False, "true", "x"])),
                            attributed=_or_json(st.sampled_from([True, False, "false", 1])),
                            attribution_type=texts,
                            attribution_provider=texts,
                        )
                    ),
                )
            )
        )
    ),
)
event_names = _weighted(
    st.sampled_from(EVENT_NAMES[:9]) | st.sampled_from(EVENT_NAMES), json_values, 4
)
event_shaped = st.builds(
    lambda name, body: {"event_name": name, **body}, event_names, event_shaped_body
)

Path = tuple[str | int, ...]


def _paths(node: Any, prefix: Path = ()) -> Iterator[tuple[Path, Any]]:
    yield prefix, node
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _paths(child, (*prefix, index))


def _at(node: Any, path: Path) -> Any:
    for key in path:
        node = node[key]
    return node


# Values of the wrong type (or right type, wrong content) that replace or join a valid event.
replacements = st.one_of(
    st.sampled_from([None, "", [], {}, 0, -1, 0.5, True, False, math.nan, math.inf, -math.inf]),
    st.sampled_from(HUGE_NUMBERS),
    st.sampled_from(TRICKY_STRINGS),
    json_values,
).map(copy.deepcopy)  # a fresh [] or {} each time: later mutations may write into it


@st.composite
def mutated_events(draw: st.DrawFn) -> dict[str, Any]:
    """A realistic event with 1-4 values replaced, keys deleted or wrong-typed values inserted."""
    event = copy.deepcopy(BASE_EVENTS[draw(st.sampled_from(sorted(BASE_EVENTS)))])
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = list(_paths(event))
        path, node = draw(st.sampled_from(paths))
        kind = draw(st.sampled_from(("replace", "delete", "insert")))
        if not path and kind != "insert":
            continue
        if kind == "insert":
            if isinstance(node, dict):
                key = draw(st.sampled_from(KNOWN_KEYS) | st.text(max_size=5))
                node[key] = draw(replacements)
            elif isinstance(node, list):
                node.insert(draw(st.integers(0, len(node))), draw(replacements))
            continue
        parent = _at(event, path[:-1])
        if kind == "delete":
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(replacements)
    return event


variants = st.sampled_from(sorted(VARIANTS))

# ---------------------------------------------------------------------------------------------
# The properties.

_HEX = re.compile(r"[0-9a-f]{32}|[0-9a-f]{64}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _texts(node: Any) -> Iterator[str]:
    """Every key and scalar of a JSON-like value, as text."""
    for _, value in _paths(node):
        if isinstance(value, dict):
            yield from (str(key) for key in value)
        elif isinstance(value, str):
            yield value
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                yield repr(value)
            except ValueError:  # an int too long to print
                continue


def _values_at(event: Any, paths: tuple[Path, ...]) -> list[Any]:
    found = []
    for path in paths:
        node = event
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        found.extend(node if isinstance(node, list) else [node])
    return found


def _without(event: Any, paths: tuple[Path, ...]) -> Any:
    stripped = copy.deepcopy(event)
    for path in paths:
        node = stripped
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return stripped


def _as_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return str(value)
        except ValueError:
            return None
    return None


Variant = str | tuple[dict[str, Any], Config]
"""A named variant of ``VARIANTS``, or generated settings (default PII paths) and their config."""


def _spec_and_config(variant: Variant) -> tuple[dict[str, Any], Config]:
    if isinstance(variant, str):
        return VARIANTS[variant], config_of(variant)
    settings_, config = variant
    spec = {
        "settings": settings_,
        "email_paths": DEFAULT_EMAIL_PATHS,
        "phone_paths": DEFAULT_PHONE_PATHS,
    }
    return spec, config


def pii_needles(event: Any, variant: Variant) -> tuple[set[str], set[str]]:
    """Clear-text emails and phones of ``event``: the forms that must not appear in a payload.

    Emails: trimmed and lower-cased, non-empty, not already a SHA-256 hex. Phones: the strings
    themselves and their digits-only forms, when they hold at least 6 digits. Values read by the
    settings' own expressions (templates included) count too.
    """
    spec, config = _spec_and_config(variant)
    emails_raw = _values_at(event, spec["email_paths"])
    phones_raw = _values_at(event, spec["phone_paths"])
    if isinstance(event, dict):
        for field, raw in (("user_email", emails_raw), ("user_phone", phones_raw)):
            value = config.fields[field](event)
            raw.extend(value if isinstance(value, list) else [value])
    emails = set()
    for value in emails_raw:
        text = _as_text(value)
        if text is not None:
            email = text.strip().lower()
            if email and not _SHA256.fullmatch(email):
                emails.add(email)
    phones = set()
    for value in phones_raw:
        text = _as_text(value)
        if text is None or _SHA256.fullmatch(text.strip().lower()):
            continue
        digits = "".join(ch for ch in text if ch.isascii() and ch.isdigit())
        if len(digits) >= 6:
            phones.update({text.strip().lower(), digits})
    return emails, phones


def _hexadecimal(text: str) -> bool:
    return all(ch in "0123456789abcdef" for ch in text)


def assert_no_clear_pii(event: Any, variant: Variant, outcome: dict[str, Any]) -> None:
    """No clear-text email or phone of ``event`` in ``outcome``: its payload, warnings or error.

    Hosts log outcomes, so messages are held to the same rule as payloads.
    """
    emails, phones = pii_needles(event, variant)
    spec, config = _spec_and_config(variant)
    pii_paths = spec["email_paths"] + spec["phone_paths"]
    without_pii = _without(event, pii_paths)
    # Text that reaches the payload from elsewhere is no evidence of a leak: the event's other
    # values (a page URL, a custom property), the settings' constants, the clock, and whatever the
    # same event without its email and phone fields gives.
    control = transform(copy.deepcopy(without_pii), config, NOW)
    elsewhere = [
        text.lower()
        for source in (without_pii, spec["settings"], control, str(int(NOW)))
        for text in _texts(source)
    ]
    outcome_texts = [text.lower() for text in _texts(outcome)]
    for needle in emails | phones:
        if any(needle in text for text in elsewhere):
            continue
        hexadecimal = _hexadecimal(needle)
        for text in outcome_texts:
            if hexadecimal and _HEX.fullmatch(text):
                continue  # a hash or derived id holding it by chance; hashed fields checked below
            assert needle not in text, f"clear-text PII {needle!r} in outcome text {text!r}"
    if outcome["status"] != "ok":
        return
    user = outcome["payload"]["data"][0].get("user", {})
    for key in ("email", "phone", "external_id"):
        if key in user:
            hashes = user[key] if isinstance(user[key], list) else [user[key]]
            assert hashes, f"user.{key} is an empty list"
            for value in hashes:
                assert isinstance(value, str) and _SHA256.fullmatch(value), (key, value)


def check(event: Any, variant: Variant) -> dict[str, Any]:
    """Every property of one transform; returns the outcome."""
    _spec, config = _spec_and_config(variant)
    before = json.dumps(event, sort_keys=True, default=repr) if _printable(event) else None
    outcome = cast(dict[str, Any], transform(event, config, NOW))
    assert isinstance(outcome, dict)
    status = outcome.get("status")
    if currently_in_test_context():
        record(f"{variant if isinstance(variant, str) else 'generated settings'}: {status}")
    assert status in ("ok", "skipped", "invalid"), outcome
    if status == "skipped":
        assert set(outcome) == {"status", "reason"}, outcome
        assert isinstance(outcome["reason"], str) and outcome["reason"].strip()
    elif status == "invalid":
        assert set(outcome) == {"status", "error"}, outcome
        assert isinstance(outcome["error"], str) and outcome["error"].strip()
    else:
        assert set(outcome) <= {"status", "payload", "warnings"}, outcome
        payload = outcome["payload"]
        json.dumps(outcome, allow_nan=False)
        errors = sorted(output_validator().iter_errors(payload), key=lambda e: list(e.path))
        assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]
        if "warnings" in outcome:
            assert outcome["warnings"]
            assert all(isinstance(w, str) and w for w in outcome["warnings"])
    json.dumps(outcome)
    assert_no_clear_pii(event, variant, outcome)
    # Deterministic and pure: the same event (here, a copy) gives an equal outcome, untouched.
    again = transform(copy.deepcopy(event), config, NOW)
    assert _canonical(again) == _canonical(outcome)
    assert_walked_alike(outcome, transform(copy.deepcopy(event), _walked(config), NOW))
    if before is not None:
        assert json.dumps(event, sort_keys=True, default=repr) == before, "the event was changed"
    return outcome


@cache
def _walked(config: Config) -> Config:
    return walked_twin(config)


def assert_walked_alike(outcome: Any, walked: Any) -> None:
    """The fitted walk (plain fields read straight from their objects) gives what the general
    walk gives, every field read through its getter: the same outcome, to the order of its
    keys and warnings and the field an ``invalid`` one names."""
    assert _in_order(outcome) == _in_order(walked)


def _in_order(outcome: Any) -> str:
    return json.dumps(outcome, default=repr)


def _printable(value: Any) -> bool:
    try:
        json.dumps(value, sort_keys=True, default=repr)
    except (ValueError, TypeError, RecursionError):
        return False
    return True


def _canonical(outcome: Any) -> str:
    return json.dumps(outcome, sort_keys=True, default=repr)


@settings(PROPERTY_SETTINGS, max_examples=examples(1000))
@given(event=json_values, variant=variants)
def test_any_json_value_gives_one_outcome(event: Any, variant: str) -> None:
    check(event, variant)


@settings(PROPERTY_SETTINGS, max_examples=examples(1200))
@given(event=event_shaped, variant=variants)
def test_event_shaped_json_gives_one_outcome(event: dict[str, Any], variant: str) -> None:
    check(event, variant)


@settings(PROPERTY_SETTINGS, max_examples=examples(3000))
@given(event=mutated_events(), variant=variants)
def test_mutated_valid_events_give_one_outcome(event: dict[str, Any], variant: str) -> None:
    check(event, variant)


@pytest.mark.parametrize("name", sorted(BASE_EVENTS))
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_base_events_hold_the_properties(name: str, variant: str) -> None:
    check(copy.deepcopy(BASE_EVENTS[name]), variant)


# Where each realistic event is sent: the mutations start from events that are valid.
SENT_WITH = {name: "app_and_pixel" for name in BASE_EVENTS} | {"offline_purchase": "smart_mapping"}


@pytest.mark.parametrize("name", sorted(BASE_EVENTS))
def test_base_events_are_sent(name: str) -> None:
    outcome = check(copy.deepcopy(BASE_EVENTS[name]), SENT_WITH[name])
    assert outcome["status"] == "ok", outcome
    user = outcome["payload"]["data"][0].get("user", {})
    if "email" in BASE_EVENTS[name].get("user", {}):
        assert "email" in user


def test_app_events_carry_the_ad_object_and_their_content_type() -> None:
    outcome = check(copy.deepcopy(APP_AD_ITEM_GROUP), SENT_WITH["app_ad_item_group"])
    assert outcome["status"] == "ok", outcome
    data = outcome["payload"]["data"][0]
    assert data["ad"] == {
        "callback": "cb",
        "campaign_id": "7",
        "ad_id": "8",
        "creative_id": "9",
        "is_retargeting": True,
        "attributed": False,
        "attribution_type": "click",
        "attribution_provider": "Adjust",
    }
    properties = data["properties"]
    assert properties["content_type"] == "product_group"
    assert [content["content_type"] for content in properties["contents"]] == ["product_group"]
    assert properties["currency"] == "EUR"
    assert properties["search_string"] == properties["query"] == "boots"
    assert properties["order_id"] == "app-ad-1"


@pytest.mark.parametrize(
    "path",
    [
        ("value",),
        ("id",),
        ("user", "id"),
        ("user", "phone"),
        ("context", "event_timestamp"),
        ("items", 0, "quantity"),
        ("items", 0, "product", "price"),
        ("coupon",),
    ],
)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_ints_too_long_to_print_give_one_outcome(path: Path, variant: str) -> None:
    event = copy.deepcopy(WEB_PURCHASE)
    _at(event, path[:-1])[path[-1]] = TOO_LONG_TO_PRINT
    check(event, variant)


# Cases the generators above have found; pinned so that each one runs on every test run.
EDGE_CASES = {
    "bad order content_type": {"event_name": "purchase", "content_type": "0"},
    "item with only a bad content_type": {
        "event_name": "purchase",
        "items": [{"content_type": "x"}],
    },
    "timestamp under one second": {"event_name": "purchase", "context": {"event_timestamp": 0.5}},
    "timestamp too big for a float": {
        "event_name": "purchase",
        "context": {"event_timestamp": 10**400},
    },
    "value too big for a float": {"event_name": "purchase", "value": 10**400},
    "quantity too big for a float": {
        "event_name": "purchase",
        "items": [{"product": {"price": 1.5}, "quantity": 10**400}],
    },
}


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_edge_cases_give_one_outcome(name: str, variant: str) -> None:
    check(copy.deepcopy(EDGE_CASES[name]), variant)


# ---------------------------------------------------------------------------------------------
# Generated settings: the same properties whatever the settings, and settings that validate are
# compiled into a config the transform and delivery use correctly.

PII_KEYS = frozenset({"email", "email_sha256", "emails", "phone", "phone_sha256", "phone_number"})
PII_KEYS |= {"phone_prefix"}
CONTAINER_KEYS = frozenset({"user", "context", "partners", "tiktok", "device", "page", "app"})
CONTAINER_KEYS |= {"product", "items", "cookie"}
PII_FIELDS = frozenset({"user_email", "user_phone"})


def _leaf_paths(node: Any) -> set[str]:
    return {
        ".".join(str(key) for key in path)
        for path, value in _paths(node)
        if path and not isinstance(value, (dict, list))
    }


EVENT_PATHS = sorted(set().union(*(_leaf_paths(event) for event in BASE_EVENTS.values())))
ITEM_PATHS = sorted(
    set().union(
        *(_leaf_paths(item) for event in BASE_EVENTS.values() for item in event.get("items", []))
    )
)


def _reads_no_pii(path: str) -> bool:
    """A path that cannot hand a clear email or phone (or an object holding one) to a field."""
    keys = path.split(".")
    return not PII_KEYS & set(keys) and keys[-1] not in CONTAINER_KEYS


def expressions(paths: list[str]) -> st.SearchStrategy[Any]:
    """Source expressions reading ``paths`` (and random key paths): paths, templates, constants
    and lists of these, as a settings author could write them."""
    path = st.sampled_from(paths) | st.lists(
        st.sampled_from(KNOWN_KEYS) | st.sampled_from(["0", "1"]), min_size=1, max_size=3
    ).map(".".join)
    template = st.lists(path, min_size=1, max_size=2).map(
        lambda parts: " ".join("{{" + part + "}}" for part in parts)
    )
    constant = st.builds(
        lambda value: {"value": value},
        st.text(max_size=8) | st.integers(-(10**6), 10**6) | st.booleans() | st.just(19.9),
    )
    one = path | template | constant
    return one | st.lists(one, min_size=1, max_size=3)


def _safe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Expressions of fields that are not email or phone read no email or phone."""

    def paths_in(expression: Any) -> list[str]:
        if isinstance(expression, list):
            return [path for part in expression for path in paths_in(part)]
        if isinstance(expression, str):
            found = re.findall(r"\{\{\s*([^{}]*?)\s*\}\}", expression)
            return found or [expression]
        return []

    return strategy.filter(lambda e: all(_reads_no_pii(path) for path in paths_in(e)))


@st.composite
def smart_mappings(draw: st.DrawFn) -> dict[str, Any]:
    from tiktok_destination.fields import FIELD_NAMES

    fields = draw(st.lists(st.sampled_from(FIELD_NAMES), max_size=5, unique=True))
    mapping = {}
    for field in fields:
        paths = ITEM_PATHS if field.startswith("item_") and field != "item_list" else EVENT_PATHS
        strategy = expressions(paths)
        mapping[field] = draw(strategy if field in PII_FIELDS else _safe(strategy))
    return mapping


custom_rows = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.sampled_from(["tier", "segment", "coupon_code", "channel", "value", "x"]),
            "value": _safe(expressions(EVENT_PATHS)),
        }
    ),
    max_size=3,
)
event_mapping_rows = st.lists(
    _object(
        event=st.sampled_from(EVENT_NAMES[:11]),
        tiktok_event=st.sampled_from(["Purchase", "CompletePayment", "Refund", "Custom_1"]),
        event_source=st.sampled_from(["web", "app"]),
    ),
    max_size=3,
)
source_ids = st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=8)

generated_settings = st.fixed_dictionaries(
    {"access_token": st.just("tok-generated-0123")},
    optional={
        "pixel_id": source_ids,
        "app_id": source_ids,
        "offline_event_set_id": source_ids,
        "crm_event_set_id": source_ids,
        "test_event_code": source_ids,
        "event_mapping": event_mapping_rows,
        "view_content_events": st.lists(
            st.sampled_from(["page_view", "view_item"]), max_size=2, unique=True
        ),
        "autodiscover_event_source": st.booleans(),
        "smart_mapping": smart_mappings(),
        "custom_event_properties": custom_rows,
        "custom_user_properties": custom_rows,
        "lowercase_user_id": st.booleans(),
        "default_phone_region": _weighted(
            st.sampled_from(["FR", "US", "GB", "DE", "BR", "JP"]), st.just("fr"), 5
        ),
        "api_url": _weighted(
            st.sampled_from(
                ["https://business-api.tiktok.com/open_api/v1.3/event/track/", "http://[::1]:9/x"]
            ),
            st.sampled_from(["http://example.com/track", "https://user:pw@example.com/track"]),
            5,
        ),
        "batch_size": _weighted(
            st.integers(1, 1000) | st.sampled_from([1000.0, 2.0]),
            st.sampled_from([0, 1001, 0.5, math.nan]),
            5,
        ),
        "timeout_s": _weighted(
            st.floats(0.001, 300) | st.just(2), st.sampled_from([0, 301, math.nan, math.inf]), 5
        ),
        "max_retries": _weighted(
            st.integers(0, 20) | st.just(5.0), st.sampled_from([-1, 21, 1.5]), 5
        ),
    },
).filter(lambda s: any(key in s for key in ("pixel_id", "app_id", "offline_event_set_id")))


def check_settings(settings_: dict[str, Any], events: list[Any]) -> None:
    """The properties of one settings object, and of ``events`` transformed under it."""
    from tiktok_destination.delivery.deliverer import Deliverer
    from tiktok_destination.destination import transform_event
    from tiktok_destination.facts import MAX_REQUEST_BYTES
    from tiktok_destination.settings import validate

    problems = validate(settings_)
    assert all(isinstance(p, str) and 0 < len(p) <= 300 for p in problems), problems
    assert not any(settings_["access_token"] in problem for problem in problems)
    if currently_in_test_context():
        record("settings " + ("invalid" if problems else "valid"))
    if problems:
        for event in events:
            refused = transform_event(copy.deepcopy(event), settings_, NOW)
            assert refused["status"] == "invalid", refused
            assert refused["error"].startswith("settings: ")
        return
    config = make_config(settings_)
    delivery = config.delivery
    assert (type(delivery.batch_size), type(delivery.max_retries)) == (int, int)
    assert type(delivery.timeout_s) is float and 0 < delivery.timeout_s <= 300
    payloads = []
    for event in events:
        outcome = check(event, (settings_, config))
        through_hook = transform_event(copy.deepcopy(event), settings_, NOW)
        assert _canonical(through_hook) == _canonical(outcome)
        if outcome["status"] == "ok":
            payloads.append(outcome["payload"])
    with Deliverer(delivery) as deliverer:
        bodies = deliverer.plan(payloads)
    assert sum(len(body["data"]) for body in bodies) == len(payloads)
    for body in bodies:
        most = 1 if "test_event_code" in body else delivery.batch_size
        assert 1 <= len(body["data"]) <= most
        assert len(json.dumps(body, ensure_ascii=False).encode()) <= MAX_REQUEST_BYTES


some_events = st.lists(mutated_events() | event_shaped, min_size=1, max_size=3)


@settings(PROPERTY_SETTINGS, max_examples=examples(800))
@given(settings_=generated_settings, events=some_events)
def test_generated_settings_give_one_outcome_per_event(
    settings_: dict[str, Any], events: list[Any]
) -> None:
    check_settings(settings_, events)


@pytest.mark.parametrize(
    "changes",
    [
        {"batch_size": 1000.0},
        {"batch_size": 2.0, "max_retries": 5.0},
        {"timeout_s": math.nan},
        {"smart_mapping": {"event_id": {"value": math.nan}}},
        {"custom_event_properties": [{"name": "loop", "value": "items"}], "test_event_code": "T1"},
    ],
)
def test_settings_found_by_the_generator(changes: dict[str, Any]) -> None:
    base = {"access_token": "tok-generated-0123", "pixel_id": "PIXEL", "app_id": "7000"}
    check_settings({**base, **changes}, [copy.deepcopy(event) for event in BASE_EVENTS.values()])
