"""The fake server's own options that tests and benchmarks rely on."""

from __future__ import annotations

import time

import requests
from support.tiktok_server import FakeTikTok, payload

TOKEN = "server-token"


def test_latency_delays_every_answer() -> None:
    with FakeTikTok(TOKEN, latency_s=0.3) as server:
        started = time.monotonic()
        answer = requests.post(
            server.url, json=payload("late-1"), headers={"Access-Token": TOKEN}, timeout=10
        )
        waited = time.monotonic() - started
    assert answer.json()["code"] == 0
    assert server.event_ids == ["late-1"]
    assert waited >= 0.3  # a lower bound: never flaky, and 0 without the option
