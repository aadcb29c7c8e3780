"""Helpers of the worker tests: settings, events into a stream, a worker run with a bound."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import replace
from typing import Any

import redis

from support.helpers import TOKEN
from support.tiktok_server import FakeTikTok
from tiktok_destination.fleet.acknowledging import dead_stream, outcomes_stream
from tiktok_destination.fleet.metrics import WorkerMetrics
from tiktok_destination.fleet.streams import DEFAULT_GROUP, EVENT_FIELD
from tiktok_destination.fleet.worker import DEFAULT_RETENTION_S, Options, Verdict, Worker
from tiktok_destination.state import config_for

STREAM = "test:events"
RUN_TIMEOUT_S = 30.0
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (INFO|WARNING|ERROR) ")
"""How every line a worker prints starts: the UTC time to the millisecond, then the level."""


def worker_settings(tiktok: FakeTikTok, **extra: Any) -> dict[str, Any]:
    base = {"access_token": TOKEN, "pixel_id": "PIXEL1", "api_url": tiktok.url, "max_retries": 0}
    return {**base, "timeout_s": 5.0, **extra}


def event(event_id: str, **extra: Any) -> dict[str, Any]:
    return {"event_name": "add_to_cart", "id": event_id, **extra}


def add_events(client: redis.Redis, events: list[Any], stream: str = STREAM) -> list[str]:
    """``XADD`` each event as JSON text; the entry ids, in order."""
    with client.pipeline(transaction=False) as pipe:
        for item in events:
            pipe.xadd(stream, {EVENT_FIELD: json.dumps(item)})
        ids: list[str] = pipe.execute()
    return ids


def make_worker(
    client: redis.Redis,
    settings: dict[str, Any],
    *,
    consumer: str = "w1",
    claim_after_s: float = 60.0,
    idle_s: float = 0.3,
    metrics: WorkerMetrics | None = None,
    group: str = DEFAULT_GROUP,
    retention_s: float = DEFAULT_RETENTION_S,
    max_held_bytes: int | None = None,
) -> Worker:
    options = Options(
        STREAM, group, consumer, claim_after_s, idle_s, max_wait_s=0.05, retention_s=retention_s
    )
    if max_held_bytes is not None:
        options = replace(options, max_held_bytes=max_held_bytes)
    return Worker(client, settings, config_for(settings), options, metrics)


def run(worker: Worker, timeout_s: float = RUN_TIMEOUT_S) -> Verdict:
    """Run ``worker`` in a thread until it exits; fail the test if it runs past ``timeout_s``."""
    codes: list[Verdict] = []
    thread = threading.Thread(target=lambda: codes.append(worker.run()), daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        worker.request_stop()
        thread.join(5)
        raise AssertionError(f"the worker did not exit within {timeout_s} s")
    assert codes, "the worker raised"
    return codes[0]


def add_raw(client: redis.Redis, fields: dict[str, str], entry_id: str = "*") -> str:
    """``XADD`` an entry with these fields as they are."""
    return str(client.xadd(STREAM, fields, id=entry_id))  # type: ignore[arg-type]


def records(client: redis.Redis, stream: str) -> list[dict[str, str]]:
    raw: Any = client.xrange(stream)
    return [fields for _id, fields in raw]


def outcomes(client: redis.Redis, stream: str = STREAM) -> list[dict[str, str]]:
    return records(client, outcomes_stream(stream))


def dead(client: redis.Redis, stream: str = STREAM) -> list[dict[str, str]]:
    return records(client, dead_stream(stream))


def pending(client: redis.Redis, stream: str = STREAM) -> int:
    return int(client.xpending(stream, DEFAULT_GROUP)["pending"])
