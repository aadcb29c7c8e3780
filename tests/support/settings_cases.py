"""Good and bad settings, with the verdict of the schema and of ``validate_settings`` for each.

Shared by the agreement tests (Python's ``jsonschema``) and the browser test (Ajv's 2020 build in
react-jsonschema-form), so both validators are held to the same table.
"""

from __future__ import annotations

from typing import Any

TOKEN = "tok-cases"
MINIMAL: dict[str, Any] = {"access_token": TOKEN, "pixel_id": "PIXEL"}

# Both the schema and validate_settings accept these.
GOOD: list[dict[str, Any]] = [
    MINIMAL,
    {"access_token": TOKEN, "app_id": "7000"},
    {"access_token": TOKEN, "offline_event_set_id": "OFF"},
    {"access_token": TOKEN, "crm_event_set_id": "CRM"},
    {**MINIMAL, "default_phone_region": "FR"},
    {**MINIMAL, "default_phone_region": "GB"},
    {**MINIMAL, "api_url": "http://127.0.0.1:8080/track"},
    {**MINIMAL, "api_url": "https://example.com/track"},
    {**MINIMAL, "view_content_events": []},
    {**MINIMAL, "event_mapping": [{"event": "refund", "tiktok_event": "Refund"}]},
    {
        **MINIMAL,
        "event_mapping": [
            {"event": "refund", "tiktok_event": "Refund", "event_source": "web"},
            {"event": "refund", "tiktok_event": "Refund", "event_source": "app"},
        ],
    },
    {
        **MINIMAL,
        "smart_mapping": {
            "user_email": "user.custom_email",
            "description": "{{user.first_name}} {{user.last_name}}",
            "event_source": {"value": "app"},
            "transaction_value": {"value": 0},
            "limited_data_use": {"value": False},
            "currency": {"value": ""},
            "event_id": ["id", "{{user.id}}-{{context.event_timestamp}}", {"value": "x"}],
            "item_id": [["product.sku"], "id"],
        },
    },
    {**MINIMAL, "custom_event_properties": [{"name": "coupon", "value": "order.coupon"}]},
    {**MINIMAL, "custom_user_properties": [{"name": "tier", "value": {"value": 3.5}}]},
    {**MINIMAL, "batch_size": 1, "timeout_s": 0.5, "max_retries": 0},
]

# Both reject these: (settings, the key the first problem names).
BAD: list[tuple[dict[str, Any], str]] = [
    ({"access_token": TOKEN}, "pixel_id"),
    ({"access_token": TOKEN, "pixel_id": ""}, "pixel_id"),
    ({"pixel_id": "P"}, "access_token"),
    ({**MINIMAL, "access_token": ""}, "access_token"),
    ({**MINIMAL, "pixle_id": "P"}, "pixle_id"),
    ({**MINIMAL, "default_phone_region": "fr"}, "default_phone_region"),
    ({**MINIMAL, "default_phone_region": "XX"}, "default_phone_region"),
    ({**MINIMAL, "api_url": ""}, "api_url"),
    ({**MINIMAL, "api_url": "ftp://example.com"}, "api_url"),
    ({**MINIMAL, "view_content_events": ["page_view", "page_view"]}, "view_content_events"),
    ({**MINIMAL, "view_content_events": ["purchase"]}, "view_content_events[0]"),
    ({**MINIMAL, "event_mapping": [{"event": "x"}]}, "event_mapping[0].tiktok_event"),
    ({**MINIMAL, "smart_mapping": {"user_emial": "user.mail"}}, "smart_mapping.user_emial"),
    ({**MINIMAL, "smart_mapping": {"newKey": "x"}}, "smart_mapping.newKey"),
    ({**MINIMAL, "smart_mapping": {"user_email": ""}}, "smart_mapping.user_email"),
    ({**MINIMAL, "smart_mapping": {"user_email": []}}, "smart_mapping.user_email"),
    ({**MINIMAL, "smart_mapping": {"user_email": {"path": "x"}}}, "smart_mapping.user_email"),
    ({**MINIMAL, "smart_mapping": {"user_email": {"value": ["a"]}}}, "smart_mapping.user_email"),
    ({**MINIMAL, "smart_mapping": {"user_email": {"value": None}}}, "smart_mapping.user_email"),
    ({**MINIMAL, "smart_mapping": {"user_email": ["ok", 5]}}, "smart_mapping.user_email"),
    (
        {**MINIMAL, "custom_user_properties": [{"name": "a.b", "value": "x"}]},
        "custom_user_properties[0].name",
    ),
    ({**MINIMAL, "custom_user_properties": [{"name": "tier"}]}, "custom_user_properties[0].value"),
    ({**MINIMAL, "batch_size": 0}, "batch_size"),
    ({**MINIMAL, "batch_size": 1001}, "batch_size"),
    ({**MINIMAL, "timeout_s": 0}, "timeout_s"),
    ({**MINIMAL, "max_retries": -1}, "max_retries"),
    ({**MINIMAL, "autodiscover_event_source": "yes"}, "autodiscover_event_source"),
]

# The schema accepts these; validate_settings refuses them (docs/settings-form.md: the rules
# only validate_settings checks), keyed by the setting its problem names.
VALIDATE_ONLY: dict[str, dict[str, Any]] = {
    "api_url": {**MINIMAL, "api_url": "http://example.com/track"},
    "event_mapping[1]": {
        **MINIMAL,
        "event_mapping": [{"event": "refund", "tiktok_event": "Refund"}] * 2,
    },
    "custom_event_properties[0].name": {
        **MINIMAL,
        "custom_event_properties": [{"name": "value", "value": "x"}],
    },
    "custom_user_properties[0].name": {
        **MINIMAL,
        "custom_user_properties": [{"name": "email", "value": "x"}],
    },
}
