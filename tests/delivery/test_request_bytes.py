"""Requests are capped in bytes as well as in events: big events split batches, too big ones are
rejected alone, and no request body over the cap ever leaves."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from support.tiktok_server import FakeTikTok, payload

from tiktok_destination import facts
from tiktok_destination.delivery.deliverer import MAX_EVENT_BYTES, Deliverer

MakeDeliverer = Callable[..., Deliverer]
MB = 2**20


def test_big_events_are_split_by_bytes(tiktok: FakeTikTok, make_deliverer: MakeDeliverer) -> None:
    payloads = [payload(f"e{n}", note="x" * (MB + 200_000)) for n in range(12)]
    outcomes = make_deliverer().send(payloads)
    assert [outcome["status"] for outcome in outcomes] == ["delivered"] * 12
    sizes = [request.body_bytes for request in tiktok.requests]
    assert max(sizes) <= facts.MAX_REQUEST_BYTES
    assert [request.size for request in tiktok.requests] == [3, 3, 3, 3]
    assert sorted(tiktok.event_ids) == sorted(f"e{n}" for n in range(12))  # requests overlap


def test_an_event_too_big_for_any_request_is_rejected_alone(
    tiktok: FakeTikTok, make_deliverer: MakeDeliverer
) -> None:
    payloads = [payload("small-1"), payload("huge", note="x" * 5 * MB), payload("small-2")]
    outcomes = make_deliverer().send(payloads)
    assert [outcome["status"] for outcome in outcomes] == ["delivered", "rejected", "delivered"]
    assert "more than the 4 MB one request may carry" in outcomes[1]["message"]
    assert all(request.body_bytes <= facts.MAX_REQUEST_BYTES for request in tiktok.requests)
    assert sorted(tiktok.event_ids) == ["small-1", "small-2"]


def test_the_dry_run_plan_splits_by_bytes_too(make_deliverer: MakeDeliverer) -> None:
    payloads = [payload(f"e{n}", note="x" * 2 * MB) for n in range(3)]
    bodies = make_deliverer().plan(payloads)
    assert [len(body["data"]) for body in bodies] == [1, 1, 1]


def test_small_events_still_fill_a_batch(tiktok: FakeTikTok, make_deliverer: MakeDeliverer) -> None:
    outcomes = make_deliverer().send([payload(f"e{n}", note="x" * 1000) for n in range(1000)])
    assert {outcome["status"] for outcome in outcomes} == {"delivered"}
    assert [request.size for request in tiktok.requests] == [1000]


def test_events_that_fill_the_bytes_exactly_share_one_request(
    make_deliverer: MakeDeliverer,
) -> None:
    def json_bytes(event: dict[str, object]) -> int:
        return len(json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode())

    def pair(extra: int) -> list[dict[str, Any]]:
        """Two events whose JSON, a comma after each, takes MAX_EVENT_BYTES + ``extra``."""
        first, second = payload("e0", note=""), payload("e1", note="")
        empty = sum(json_bytes(p["data"][0]) + 1 for p in (first, second))
        half = (MAX_EVENT_BYTES + extra - empty) // 2
        first["data"][0]["properties"]["note"] = "x" * half
        second["data"][0]["properties"]["note"] = "x" * (MAX_EVENT_BYTES + extra - empty - half)
        return [first, second]

    assert [len(body["data"]) for body in make_deliverer().plan(pair(0))] == [2]
    assert [len(body["data"]) for body in make_deliverer().plan(pair(1))] == [1, 1]
