"""Settings validation: every problem at once, each naming its key; compiled defaults."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tiktok_destination import settings
from tiktok_destination.settings import SettingsError, make_config, validate
from tiktok_destination.state import config_for

VALID = {"access_token": "tok-123", "pixel_id": "PIXEL"}


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(settings.schema())
    assert settings.schema()["$schema"].endswith("/2020-12/schema")


def test_minimal_settings_are_valid() -> None:
    assert validate(VALID) == []


def test_every_problem_is_reported_at_once_with_its_key() -> None:
    problems = validate(
        {
            "access_token": "tok",
            "batch_size": 5000,
            "view_content_events": ["page_view", "foo"],
            "api_url": "http://example.com/track",
            "batch_sise": 10,
            "timeout_s": "10",
        }
    )
    keys = [problem.split(":")[0] for problem in problems]
    assert sorted(keys) == sorted(
        ["batch_size", "view_content_events[1]", "api_url", "batch_sise", "timeout_s", "pixel_id"]
    )
    assert any("did you mean batch_size" in problem for problem in problems)


@pytest.mark.parametrize(
    ("settings_", "key"),
    [
        ({"pixel_id": "P"}, "access_token"),
        ({"access_token": "", "pixel_id": "P"}, "access_token"),
        ({"access_token": "t"}, "pixel_id"),
        ({**VALID, "api_url": "ftp://x"}, "api_url"),
        ({**VALID, "default_phone_region": "france"}, "default_phone_region"),
        ({**VALID, "batch_size": 0}, "batch_size"),
        ({**VALID, "max_retries": -1}, "max_retries"),
        ({**VALID, "view_content_events": ["view_item", "view_item"]}, "view_content_events"),
        ({**VALID, "event_mapping": [{"event": "x"}]}, "event_mapping[0].tiktok_event"),
        (
            {**VALID, "event_mapping": [{"event": "x", "tiktok_event": "X", "event_source": "tv"}]},
            "event_mapping[0].event_source",
        ),
        ({**VALID, "event_mapping": [{"event": "x", "tiktok_event": "X"}] * 2}, "event_mapping[1]"),
        ({**VALID, "smart_mapping": {"user_emial": "user.mail"}}, "smart_mapping.user_emial"),
        ({**VALID, "smart_mapping": {"user_email": {"path": "x"}}}, "smart_mapping.user_email"),
        ({**VALID, "smart_mapping": {"user_email": []}}, "smart_mapping.user_email"),
        (
            {**VALID, "custom_event_properties": [{"name": "value", "value": "x"}]},
            "custom_event_properties[0].name",
        ),
        (
            {**VALID, "custom_user_properties": [{"name": "email", "value": "x"}]},
            "custom_user_properties[0].name",
        ),
        (
            {**VALID, "custom_user_properties": [{"name": "tier"}]},
            "custom_user_properties[0].value",
        ),
        ({**VALID, "autodiscover_event_source": "yes"}, "autodiscover_event_source"),
    ],
)
def test_each_problem_names_its_key(settings_: dict[str, Any], key: str) -> None:
    problems = validate(settings_)
    assert problems, settings_
    assert any(problem.startswith(key + ":") for problem in problems), problems


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]:9/x"]
)
def test_plain_http_is_allowed_to_loopback_only(url: str) -> None:
    assert validate({**VALID, "api_url": url}) == []


def test_non_object_settings_are_a_problem_not_a_crash() -> None:
    assert validate(["access_token"]) == ["settings: expected an object, got a list"]
    assert validate(None)


def test_a_wrong_token_never_appears_in_problems() -> None:
    secret = "s3cr3t-token-value"
    for bad in ({"access_token": [secret]}, {"access_token": {"t": secret}}):
        problems = validate({**bad, "pixel_id": "P"})
        assert problems and not any(secret in problem for problem in problems)


def test_compiled_defaults() -> None:
    config = make_config(VALID)
    assert config.delivery.batch_size == 1000
    assert config.delivery.max_retries == 5
    assert config.delivery.timeout_s == 10.0
    assert config.delivery.api_url == "https://business-api.tiktok.com/open_api/v1.3/event/track/"
    assert config.lowercase_user_id is False
    assert config.source_ids == {"web": "PIXEL"}
    assert "view_item" in config.event_names["web"]
    assert "page_view" not in config.event_names["web"]
    assert "tok-123" not in repr(config)


def test_event_mapping_rows_win_and_are_scoped() -> None:
    config = make_config(
        {
            **VALID,
            "view_content_events": ["page_view"],
            "event_mapping": [
                {"event": "purchase", "tiktok_event": "Purchase", "event_source": "web"},
                {"event": "refund", "tiktok_event": "Refund"},
            ],
        }
    )
    assert config.event_names["web"]["purchase"] == "Purchase"
    assert config.event_names["app"]["purchase"] == "Checkout"
    assert config.event_names["web"]["refund"] == config.event_names["app"]["refund"] == "Refund"
    assert "page_view" in config.event_names["web"] and "view_item" not in config.event_names["web"]


def test_invalid_settings_raise_with_every_problem() -> None:
    with pytest.raises(SettingsError) as raised:
        make_config({"access_token": "t", "batch_size": 5000})
    assert len(raised.value.problems) == 2


def test_config_is_compiled_once_per_settings_object_and_follows_changes() -> None:
    current: dict[str, Any] = {**VALID}
    first = config_for(current)
    assert config_for(current) is first
    current["pixel_id"] = "OTHER"
    second = config_for(current)
    assert second is not first and second.source_ids["web"] == "OTHER"
    current["batch_size"] = 0
    with pytest.raises(SettingsError):
        config_for(current)


def test_equal_settings_in_fresh_dicts_share_one_config() -> None:
    first = config_for({**VALID, "batch_size": 7})
    assert config_for({**VALID, "batch_size": 7}) is first
    assert config_for({**VALID, "batch_size": 8}) is not first
