"""Many tenants in rotation through the real hooks: compile cost, connections, refused tokens.

Run: ``python benchmarks/bench_tenants.py [TENANTS] [CALLS]`` (17 and 340 by default). With
``PYTHONPATH`` pointing at another checkout it measures that one, for a before/after.

- ``transform``: µs per hook call, one settings object vs ``TENANTS`` objects in rotation (a
  cache that cannot hold them all compiles the settings again on every call);
- ``send``: one payload per hook call, tenants in rotation: requests and connections opened;
- ``refused token``: the same, with a token TikTok refuses: how many requests carry it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path += [str(ROOT), str(ROOT / "tests")]  # last: a checkout in PYTHONPATH wins

import pluggy  # noqa: E402
from support.tiktok_server import FakeTikTok, payload  # noqa: E402

from tiktok_destination import hookspecs, plugin  # noqa: E402

TOKEN = "bench-token"
EVENT = {"event_name": "search", "id": "e-1", "search_term": "shoes"}


def tenants(count: int, url: str, token: str = TOKEN) -> list[dict[str, Any]]:
    return [{"access_token": token, "pixel_id": f"PIXEL{n}", "api_url": url} for n in range(count)]


def per_call_us(hook: Any, settings: list[dict[str, Any]], calls: int) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for n in range(calls):
            hook.cdp_destination_transform(
                destination="tiktok", event=EVENT, settings=settings[n % len(settings)]
            )
        best = min(best, time.perf_counter() - started)
    return best / calls * 1e6


def send_rotation(hook: Any, settings: list[dict[str, Any]], calls: int) -> list[str]:
    statuses = []
    for n in range(calls):
        (outcome,) = hook.cdp_destination_send(
            destination="tiktok", payloads=[payload(f"e{n}")], settings=settings[n % len(settings)]
        )
        statuses.append(outcome["status"])
    return statuses


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 17
    calls = int(sys.argv[2]) if len(sys.argv) > 2 else 340
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    manager.register(plugin)
    hook = manager.hook
    print(f"{plugin.__file__}: {count} tenants in rotation, {calls} calls")
    with FakeTikTok(TOKEN) as server:
        one = per_call_us(hook, tenants(1, server.url), calls)
        many = per_call_us(hook, tenants(count, server.url), calls)
        print(f"transform: {one:7.1f} µs/call with 1 settings, {many:7.1f} with {count}")
        statuses = send_rotation(hook, tenants(count, server.url), calls)
        connections = len({request.client_port for request in server.requests})
        delivered = statuses.count("delivered")
        print(
            f"send: {delivered}/{calls} delivered, {len(server.requests)} requests, "
            f"{connections} connections"
        )
    with FakeTikTok(TOKEN) as server:
        statuses = send_rotation(hook, tenants(count, server.url, "refused-token"), calls)
        print(
            f"refused token: {len(server.requests)} requests sent for {calls} calls "
            f"({statuses.count('failed')} failed)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
