"""Helpers of the worker tests: settings, events into a stream, a worker run with a bound."""

from __future__ import annotations

import json
from typing import Any

import redis
from helpers import TOKEN
from tiktok_server import FakeTikTok

from tiktok_destination.finishing import dead_stream, outcomes_stream
from tiktok_destination.streams import DEFAULT_GROUP, EVENT_FIELD

STREAM = "test:events"


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
