"""TikTok's body codes for partial success (20001), maintenance (60001) and clear-text personal
data (40062), served for real by the loopback fake server (README "Delivery")."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from support.tiktok_server import BodyCode, FakeTikTok, payload

from tiktok_destination.delivery.deliverer import Deliverer, DeliveryConfig

MakeDeliverer = Callable[..., Deliverer]
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _with_email(event_id: str, email: str) -> dict[str, Any]:
    sent = payload(event_id)
    sent["data"][0]["user"] = {"email": email}
    return sent


def _clear_personal_data(number: int, body: Any) -> BodyCode | None:
    """Like TikTok: 40062 for the whole request when any event carries an email in clear."""
    for event in body["data"]:
        email = event.get("user", {}).get("email")
        if email is not None and not _SHA256.fullmatch(email):
            return BodyCode(40062, "Personal information must be hashed with SHA256: user.email")
    return None


def test_partial_success_is_delivered_with_tiktoks_message(
    tiktok: FakeTikTok, make_deliverer: MakeDeliverer
) -> None:
    message = "Partial success: properties.currency ignored"
    tiktok.fail_next(BodyCode(20001, message))
    outcomes = make_deliverer().send([payload("p1"), payload("p2")])
    assert [o["status"] for o in outcomes] == ["delivered", "delivered"]
    assert {(o["code"], o["message"]) for o in outcomes} == {(20001, message)}
    assert all(o["request_id"] for o in outcomes)
    assert len(tiktok.requests) == 1  # not retried


def test_maintenance_is_retried(
    tiktok: FakeTikTok, make_deliverer: MakeDeliverer, sleeps: list[float]
) -> None:
    tiktok.fail_next(BodyCode(60001, "System is under maintenance"), BodyCode(60001))
    outcomes = make_deliverer(max_retries=3).send([payload("m1")])
    assert [(o["status"], o["code"]) for o in outcomes] == [("delivered", 0)]
    assert len(tiktok.requests) == 3
    assert len(sleeps) == 2
    assert tiktok.event_ids == ["m1"]


def test_maintenance_that_outlasts_the_budget_fails(
    tiktok: FakeTikTok, make_deliverer: MakeDeliverer
) -> None:
    tiktok.fail_next(*[BodyCode(60001, "System is under maintenance")] * 3)
    outcomes = make_deliverer(max_retries=2).send([payload("m2")])
    assert [(o["status"], o["code"]) for o in outcomes] == [("failed", 60001)]
    assert "after 3 attempts" in outcomes[0]["message"]


def test_clear_personal_data_rejects_only_the_offending_event() -> None:
    hashed = "a" * 64
    payloads = [_with_email(f"e{n}", hashed) for n in range(50)]
    payloads[37] = _with_email("e37", "anna@example.com")
    with FakeTikTok("token-40062", policy=_clear_personal_data) as server:
        config = DeliveryConfig(access_token="token-40062", api_url=server.url)
        with Deliverer(config, sleep=lambda seconds: None, random=lambda: 0.5) as deliverer:
            outcomes = deliverer.send(payloads)
        accepted = server.event_ids
    rejected = [n for n, o in enumerate(outcomes) if o["status"] == "rejected"]
    assert rejected == [37]
    assert outcomes[37]["code"] == 40062
    assert "hashed" in outcomes[37]["message"]
    assert [o["status"] for n, o in enumerate(outcomes) if n != 37] == ["delivered"] * 49
    assert sorted(accepted) == sorted(f"e{n}" for n in range(50) if n != 37)
