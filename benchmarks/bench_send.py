"""End-to-end send throughput against the fake TikTok server on loopback, in one process.

Run: ``python benchmarks/bench_send.py [EVENTS]``. Prints, in events per second:

- ``send``: ``Deliverer.send`` of pre-built payloads in batches of 1000 (grouping, one
  ``json.dumps`` per request, HTTP over one kept-alive connection, reading TikTok's answer);
- ``server read+parse``: what the server spends reading the same bodies and ``json.loads``-ing
  them, measured inside its handler: the floor that any client must wait for (the read part
  also counts waiting for bytes still on their way, so it varies from run to run; the
  ``json.loads`` part alone is printed too);
- ``client json.dumps``: the client's serialisation alone, for scale.

Client and server share one interpreter (and its GIL), so the ``send`` time includes the
server's whole handler (parse, validation, recording). "transform + send" runs the
realistic event mix of ``benchmarks/events.py`` through the transform and then delivery.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from tiktok_server import FakeTikTok  # noqa: E402

from tiktok_destination.delivery import Deliverer, DeliveryConfig  # noqa: E402

TOKEN = "bench-token"
BATCH = 1000
REPEATS = 3


def realistic_payload(n: int) -> dict[str, Any]:
    """A purchase-like web payload of typical size (hashed identifiers, two items)."""
    digest = f"{n:064x}"
    return {
        "event_source": "web",
        "event_source_id": "C4PIXEL0123456789",
        "data": [
            {
                "event": "CompletePayment",
                "event_time": 1_700_000_000 + n,
                "event_id": f"order-{n:08d}",
                "user": {
                    "email": digest,
                    "phone": digest[::-1],
                    "external_id": digest,
                    "ttclid": "E.C.P.CusAAqUWx4Vt4OkHRi5O7mJl3ZmVUsz2f",
                    "ttp": "2Zbj4YbUo4rZ6mbR2r0uXjXb6pF",
                    "ip": "203.0.113.7",
                    "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) Safari/605.1.15",
                    "locale": "fr-FR",
                },
                "page": {"url": f"https://shop.example.com/checkout/{n}", "referrer": ""},
                "properties": {
                    "contents": [
                        {"content_id": "SKU-123", "content_type": "product", "price": 19.9,
                         "quantity": 2, "content_name": "Mug", "brand": "Acme"},
                        {"content_id": "SKU-987", "content_type": "product", "price": 5.5,
                         "quantity": 1, "content_name": "Spoon", "brand": "Acme"},
                    ],
                    "content_ids": ["SKU-123", "SKU-987"],
                    "currency": "EUR",
                    "value": 45.3,
                    "order_id": f"order-{n:08d}",
                    "num_items": 2,
                    "description": "purchase",
                },
            }
        ],
    }  # fmt: skip


def best_of(run: Callable[[], float]) -> float:
    return min(run() for _ in range(REPEATS))


def measure_send(server: FakeTikTok, payloads: list[Any]) -> tuple[float, float, float]:
    """Best wall time of ``send``, and the server's read+parse and loads times in that run."""
    results = []
    for _ in range(REPEATS):
        config = DeliveryConfig(TOKEN, api_url=server.url, batch_size=BATCH)
        with Deliverer(config) as deliverer:
            deliverer.send(payloads[:BATCH])  # connect and warm up
            with server._lock:
                server.parse_seconds = server.loads_seconds = 0.0
                server.events.clear()
            started = time.perf_counter()
            outcomes = deliverer.send(payloads)
            elapsed = time.perf_counter() - started
        assert all(o["status"] == "delivered" for o in outcomes), "the fake server refused events"
        results.append((elapsed, server.parse_seconds, server.loads_seconds))
    return min(results)


def measure_dumps(payloads: list[Any]) -> float:
    bodies = Deliverer(DeliveryConfig(TOKEN)).plan(payloads)

    def run() -> float:
        started = time.perf_counter()
        for body in bodies:
            json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
        return time.perf_counter() - started

    return best_of(run)


def measure_transform_and_send(server: FakeTikTok, count: int) -> str:
    """Transform a realistic mix of CDP events and send them: the whole client side."""
    from benchmarks.events import SETTINGS, mixed_events
    from tiktok_destination.settings import compile_settings
    from tiktok_destination.transform import transform

    events = mixed_events(count)
    config = compile_settings({**SETTINGS, "access_token": TOKEN, "api_url": server.url})
    now = time.time()

    def run() -> float:
        started = time.perf_counter()
        payloads = []
        for event in events:
            outcome = transform(event, config, now)
            if outcome["status"] == "ok":
                payloads.append(outcome["payload"])
        delivery = DeliveryConfig(TOKEN, api_url=server.url, batch_size=BATCH)
        with Deliverer(delivery) as deliverer:
            outcomes = deliverer.send(payloads)
        assert all(o["status"] == "delivered" for o in outcomes), "the fake server refused events"
        server.events.clear()
        return time.perf_counter() - started

    elapsed = best_of(run)
    return f"transform + send: {len(events) / elapsed:12,.0f} events/s ({len(events):,} events)"


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    payloads = [realistic_payload(n) for n in range(count)]
    size = sum(len(json.dumps(p["data"][0], separators=(",", ":"))) for p in payloads[:100]) / 100
    with FakeTikTok(TOKEN) as server:
        send_s, parse_s, loads_s = measure_send(server, payloads)
        dumps_s = measure_dumps(payloads)
        print(f"{count:,} events of ~{size:.0f} bytes, batches of {BATCH}, best of {REPEATS}")
        print(f"send:               {count / send_s:12,.0f} events/s ({send_s:.2f} s)")
        print(f"server read+parse:  {count / parse_s:12,.0f} events/s ({parse_s:.2f} s)")
        print(f"  of which loads:   {count / loads_s:12,.0f} events/s ({loads_s:.2f} s)")
        print(f"client json.dumps:  {count / dumps_s:12,.0f} events/s ({dumps_s:.2f} s)")
        print(f"send / server read+parse time: {send_s / parse_s:.2f}x")
        print(measure_transform_and_send(server, min(count, 20_000)))


if __name__ == "__main__":
    main()
