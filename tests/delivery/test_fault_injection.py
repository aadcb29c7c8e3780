"""Thousands of events through a server that fails a third of its requests: nothing is lost.

Faults are served for real (statuses, dropped connections, late answers, throttling codes), a
seeded random deciding which requests fail. The only duplicates TikTok may see are the events
of requests it accepted but could not answer: the client cannot tell them from lost requests.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from typing import Any

from support.helpers import TOKEN
from support.tiktok_server import (
    BodyCode,
    Drop,
    FakeTikTok,
    Fault,
    HttpStatus,
    NotJson,
    Stall,
    payload,
)

from tiktok_destination.delivery.deliverer import Deliverer, DeliveryConfig

TIMEOUT_S = 1.5
"""Long enough that a loaded machine still answers a healthy request in time: an answer that
comes after the client gave up looks like a lost one, so its events would be sent again (at
0.25 s this happened under load, and the duplicates broke the accounting below)."""
FAULTS: list[Fault] = [
    HttpStatus(429, retry_after="1"),
    HttpStatus(500),
    HttpStatus(502),
    HttpStatus(503),
    Drop(),
    Drop(accept=True),
    Stall(TIMEOUT_S + 0.5),
    BodyCode(40100, "Too many requests"),
    BodyCode(50002, "Internal error"),
    NotJson(),
]


class FlakyPolicy:
    """Fails a third of the requests (seeded), cycling through every kind of fault."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.kinds = itertools.cycle(FAULTS)

    def __call__(self, number: int, body: Any) -> Fault | None:
        return next(self.kinds) if self.random.random() < 1 / 3 else None


def mixed_payloads(count: int) -> list[dict[str, Any]]:
    shuffle = random.Random(7)
    sources = [("web", "PIXEL1"), ("web", "PIXEL2"), ("app", "APP1")]
    payloads = []
    for n in range(count):
        source, source_id = shuffle.choice(sources)
        payloads.append(payload(f"ev-{n:05d}", source=source, source_id=source_id, n=n))
    return payloads


def deliver(server: FakeTikTok, payloads: list[dict[str, Any]]) -> tuple[list[Any], list[float]]:
    sleeps: list[float] = []
    config = DeliveryConfig(
        TOKEN, api_url=server.url, batch_size=100, timeout_s=TIMEOUT_S, max_retries=10
    )
    with Deliverer(config, sleep=sleeps.append, random=random.Random(3).random) as deliverer:
        return list(deliverer.send(payloads)), sleeps


def test_every_event_arrives_through_a_flaky_server() -> None:
    payloads = mixed_payloads(3000)
    sent = [p["data"][0]["event_id"] for p in payloads]
    with FakeTikTok(TOKEN, policy=FlakyPolicy(seed=2024)) as server:
        outcomes, sleeps = deliver(server, payloads)

    assert [o["status"] for o in outcomes] == ["delivered"] * len(payloads)
    recorded = Counter(server.event_ids)
    assert set(recorded) == set(sent)
    duplicated = {event_id for event_id, times in recorded.items() if times > 1}
    assert duplicated <= set(server.accepted_then_dropped)
    assert all(recorded[i] == 1 + server.accepted_then_dropped[i] for i in sent)
    assert server.accepted_then_dropped  # the seed does exercise accept-then-drop

    faults = [r.fault for r in server.requests if r.fault is not None]
    assert set(faults) == set(FAULTS)
    assert len(sleeps) == len(faults)
    assert sum(1 for f in faults if f == FAULTS[0]) <= sum(1 for s in sleeps if s >= 1)
    by_source = {(e["event_source"], e["event_source_id"]) for e in server.events}
    assert by_source == {("web", "PIXEL1"), ("web", "PIXEL2"), ("app", "APP1")}
    assert all(e["properties"]["n"] == int(e["event_id"][3:]) for e in server.events)


def test_bad_events_are_found_while_the_server_is_flaky() -> None:
    payloads = mixed_payloads(1000)
    bad = {f"ev-{n:05d}" for n in (3, 4, 250, 517, 999)}
    with FakeTikTok(TOKEN, policy=FlakyPolicy(seed=99)) as server:
        server.bad_event_ids = bad
        outcomes, _ = deliver(server, payloads)

    statuses = {
        p["data"][0]["event_id"]: o["status"] for p, o in zip(payloads, outcomes, strict=True)
    }
    assert {i for i, status in statuses.items() if status == "rejected"} == bad
    assert Counter(statuses.values()) == {"delivered": 995, "rejected": 5}
    recorded = Counter(server.event_ids)
    assert set(recorded) == set(statuses) - bad
    assert all(times == 1 + server.accepted_then_dropped[i] for i, times in recorded.items())
