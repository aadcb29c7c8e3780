"""Settings the schema alone would let through: the api_url rule, numbers that are not finite,
settings nested thousands deep or circular, huge values in problems."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest
import requests
from support.helpers import TOKEN
from support.tiktok_server import FakeTikTok, payload
from urllib3.util import parse_url

from tiktok_destination import api_url
from tiktok_destination.destination import send_payloads, transform_event
from tiktok_destination.settings import DeliveryConfig, make_config, validate

VALID = {"access_token": "tok-123", "pixel_id": "PIXEL"}


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://business-api.tiktok.com/open_api/v1.3/event/track/", None),
        ("https://proxy.example:8443/track?x=1", None),
        ("https://proxy.example/p@th", None),  # an @ in the path is no user name
        ("http://127.0.0.1:8080/x", None),
        ("http://127.8.9.10/x", None),
        ("http://localhost/x", None),
        ("http://LOCALHOST:9/x", None),
        ("http://[::1]:9/x", None),
        # urlsplit reads the host as localhost; requests connects to evil.example, over http
        ("http://evil.example:8080\\@localhost/open_api/", "backslash"),
        ("https://evil.example\\@business-api.tiktok.com/", "backslash"),
        ("https://user:pw@business-api.tiktok.com/x", "user name or password"),
        ("http://user@127.0.0.1/x", "user name or password"),
        ("http://@127.0.0.1/x", "user name or password"),
        ("http://example.com/track", "https"),
        ("http://localhost.evil.example/x", "https"),
        ("http://127.0.0.1.nip.io/x", "https"),
        ("ftp://127.0.0.1/x", "https"),
        ("https://host\t.example/x", "spaces or control characters"),
        ("https://host.example/x\n", "spaces or control characters"),
        ("https://:443/x", "host"),
        ("https://127.0.0.1:99999/x", "HTTP client can read"),
    ],
)
def test_the_api_url_rule(url: str, problem: str | None) -> None:
    found = api_url.problem(url)
    if problem is None:
        assert found is None
        assert validate({**VALID, "api_url": url}) == []
    else:
        assert found is not None and problem in found
        problems = validate({**VALID, "api_url": url})
        assert any(p.startswith("api_url:") and problem in p for p in problems), problems


@pytest.mark.parametrize(
    "url",
    ["https://business-api.tiktok.com/open_api/v1.3/event/track/", "http://127.0.0.1:8080/x"],
)
def test_an_accepted_url_is_where_requests_connects(url: str) -> None:
    """The rule and the HTTP client read the same host: what requests prepares passes too."""
    prepared = requests.Request("POST", url).prepare().url or ""
    assert api_url.problem(prepared) is None
    assert parse_url(prepared).host == parse_url(url).host


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("key", ["timeout_s", "batch_size", "max_retries"])
def test_numbers_that_are_not_finite_are_refused(key: str, number: float) -> None:
    problems = validate({**VALID, key: number})
    assert f"{key}: must be a finite number" in problems


def test_a_nan_deep_inside_is_named_by_its_path() -> None:
    problems = validate({**VALID, "smart_mapping": {"currency": {"value": float("nan")}}})
    assert "smart_mapping.currency.value: must be a finite number" in problems


def nested(depth: int) -> dict[str, Any]:
    root: dict[str, Any] = {"value": "x"}
    for _ in range(depth):
        root = {"value": [root]}
    return root


def circular() -> dict[str, Any]:
    loop: dict[str, Any] = {"value": None}
    loop["value"] = [loop]
    return loop


@pytest.mark.parametrize("make", [lambda: nested(5000), circular], ids=["5000 deep", "circular"])
def test_deep_or_circular_settings_are_a_problem(make: Any) -> None:
    settings = {**VALID, "smart_mapping": {"currency": make()}}
    started = time.monotonic()
    problems = validate(settings)
    assert time.monotonic() - started < 5.0
    assert len(problems) == 1
    assert problems[0].startswith("smart_mapping.currency.value[0].value[0]")
    assert "nested more than 32 levels deep" in problems[0]
    assert len(problems[0]) <= 300


def test_settings_nested_within_the_limit_are_judged_as_usual() -> None:
    problems = validate({**VALID, "smart_mapping": {"currency": nested(14)}})
    assert problems and not any("levels deep" in problem for problem in problems)
    assert problems[0].startswith("smart_mapping.currency: must be a property path")


@pytest.mark.parametrize("make", [lambda: nested(5000), circular], ids=["5000 deep", "circular"])
def test_hooks_given_deep_or_circular_settings_answer_with_problems(make: Any) -> None:
    settings = {**VALID, "smart_mapping": {"currency": make()}}
    outcome = transform_event({"event_name": "purchase", "id": "1"}, settings, 1.7e9)
    assert outcome["status"] == "invalid"
    assert "levels deep" in outcome["error"]
    sent = send_payloads([{"data": []}], settings)
    assert sent[0]["status"] == "failed" and "levels deep" in sent[0]["message"]


def test_a_huge_value_is_not_repeated_whole_in_a_problem() -> None:
    problems = validate({**VALID, "test_event_code": 12345, "pixel_id": "P" * 10_000_000})
    assert problems == [] or all(len(problem) <= 300 for problem in problems)
    problems = validate({**VALID, "api_url": "ftp://" + "x" * 10_000_000})
    assert problems and all(len(problem) <= 300 for problem in problems)


@pytest.mark.parametrize("batch_size", [1000.0, 2.0])
def test_whole_numbers_written_as_floats_are_used_as_integers(
    tiktok: FakeTikTok, batch_size: float
) -> None:
    """The schema takes 1000.0 as an integer: the compiled config must use it as one."""
    settings = {
        "access_token": TOKEN,
        "pixel_id": "PIXEL1",
        "api_url": tiktok.url,
        "batch_size": batch_size,
        "max_retries": 1.0,
        "max_concurrent_requests": 2.0,
        "timeout_s": 5,
    }
    assert validate(settings) == []
    delivery = make_config(settings).delivery
    assert (type(delivery.batch_size), type(delivery.max_retries)) == (int, int)
    assert type(delivery.max_concurrent_requests) is int
    assert type(delivery.timeout_s) is float
    outcomes = send_payloads([payload(f"e{n}") for n in range(5)], settings)
    assert [outcome["status"] for outcome in outcomes] == ["delivered"] * 5
    expected = [2, 2, 1] if batch_size == 2.0 else [5]
    # Two requests in flight: they may arrive in any order.
    assert sorted(request.size for request in tiktok.requests) == sorted(expected)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_delivery_config_built_directly_refuses_a_non_finite_timeout(value: float) -> None:
    """A host building ``DeliveryConfig`` itself skips validation: the class checks too."""
    with pytest.raises(ValueError, match=r"timeout_s: must be a finite number$"):
        DeliveryConfig(TOKEN, timeout_s=value)
