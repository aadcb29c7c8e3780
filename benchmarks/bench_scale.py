"""Scale-out: one worker against two, on a real ``redis-server``, TikTok 150 ms away.

Run: ``python benchmarks/bench_scale.py [EVENTS]`` (default 20,000; ``redis-server`` on the
PATH: ``scripts/install-services``). For 1 and then 2 workers: a fresh stream, the workers
started (``tiktok-destination worker`` processes) and waiting, then ``EVENTS`` events of the
realistic mix of ``benchmarks/events.py`` (a fresh seed each run) added in one transaction, so
that they appear at once; the time runs from that transaction to the last outcome written. The
fake TikTok answers every request after 150 ms, as a server that far away would. Prints
events/s in all and per worker, the workers' CPU time, and the two-worker speed-up; once with
one request in flight per worker (``max_concurrent_requests`` 1: latency-bound) and once with
the default.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.redis_server import RedisServer  # noqa: E402
from support.tiktok_server import FakeTikTok  # noqa: E402

from benchmarks.events import SETTINGS, mixed_events  # noqa: E402
from tiktok_destination import settings as settings_module  # noqa: E402
from tiktok_destination.fleet.acknowledging import outcomes_stream  # noqa: E402
from tiktok_destination.fleet.streams import (  # noqa: E402
    DEFAULT_GROUP,
    DEFAULT_STREAM,
    EVENT_FIELD,
    connect,
)

LATENCY_S = 0.150
TIMEOUT_S = 600.0


def run(workers: int, events: list[Any], server: RedisServer, settings: Path) -> float:
    """Seconds from the first event enqueued to the last outcome, with ``workers`` workers."""
    client = connect(server.url)
    client.flushall()
    client.xgroup_create(DEFAULT_STREAM, DEFAULT_GROUP, id="0", mkstream=True)
    command = [sys.executable, "-m", "tiktok_destination", "worker", "--settings", str(settings)]
    command += ["--redis", server.url]
    processes = [subprocess.Popen(command, stderr=subprocess.DEVNULL) for _ in range(workers)]
    try:
        deadline = time.monotonic() + 60
        while sum(":worker:" in c["name"] for c in client.client_list()) < workers:
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not start")
            time.sleep(0.05)
        with client.pipeline(transaction=True) as pipe:  # every entry appears at once
            for event in events:
                pipe.xadd(DEFAULT_STREAM, {EVENT_FIELD: json.dumps(event, separators=(",", ":"))})
            started = time.perf_counter()
            pipe.execute()
        deadline = time.monotonic() + TIMEOUT_S
        while client.xlen(outcomes_stream(DEFAULT_STREAM)) < len(events):
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not finish")
            time.sleep(0.01)
        return time.perf_counter() - started
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
        client.close()


def children_cpu_s() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    default = settings_module.defaults()["max_concurrent_requests"]
    with (
        RedisServer() as server,
        FakeTikTok(SETTINGS["access_token"], latency_s=LATENCY_S) as tiktok,
        tempfile.TemporaryDirectory() as folder,
    ):
        for concurrency in (1, default):
            settings = Path(folder) / f"settings-{concurrency}.json"
            chosen = {**SETTINGS, "api_url": tiktok.url, "max_concurrent_requests": concurrency}
            settings.write_text(json.dumps(chosen), encoding="utf-8")
            print(f"max_concurrent_requests {concurrency}:")
            seconds = {}
            for workers in (1, 2):
                events = mixed_events(count, seed=time.time_ns() % 1_000_000)  # fresh data
                cpu = children_cpu_s()
                seconds[workers] = run(workers, events, server, settings)
                cpu = children_cpu_s() - cpu
                rate = count / seconds[workers]
                print(
                    f"  {workers} worker(s): {seconds[workers]:.2f} s, {rate:,.0f} events/s, "
                    f"{rate / workers:,.0f} per worker; workers' CPU {cpu:.1f} s "
                    f"({count / cpu:,.0f} events per CPU second, start-up included)"
                )
            print(f"  speed-up with two workers: {seconds[1] / seconds[2]:.2f}x")


if __name__ == "__main__":
    main()
