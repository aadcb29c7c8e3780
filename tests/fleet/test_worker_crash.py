"""A worker killed mid-way loses nothing: 20,000 events, two workers, one ``kill -9``, one more.

The fake TikTok answers after a short latency and fails a fifth of the requests (HTTP 503).
Worker ``a`` is frozen while it holds entries, its pending list is read, and it is killed; a
third worker starts. At the end every event reached TikTok, the only duplicates are entries
``a`` held at the kill, the pending list is empty and every entry has exactly one outcome.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import redis
from support.helpers import TOKEN
from support.redis_server import RedisServer
from support.tiktok_server import FakeTikTok, HttpStatus
from support.worker_helpers import (
    STREAM,
    add_events,
    dead,
    event,
    outcomes,
    pending,
    worker_settings,
)

from tiktok_destination.fleet.streams import DEFAULT_GROUP, EVENT_FIELD

EVENTS = 20_000
LATENCY_S = 0.02
FAILING = 0.2
CLAIM_AFTER_S = "5"
"""Long beside the keeper's refresh (a quarter of it): a live worker is never taken for dead."""
WAIT_S = 120.0


def test_a_killed_worker_loses_no_event(
    redis_server: RedisServer, redis_client: redis.Redis, tmp_path: Path
) -> None:
    chance = random.Random(10)  # the policy is called under the server's lock
    with FakeTikTok(TOKEN, latency_s=LATENCY_S) as tiktok:
        tiktok.policy = lambda _number, _body: (
            HttpStatus(503) if chance.random() < FAILING else None
        )
        check_a_killed_worker_loses_no_event(redis_server, redis_client, tiktok, tmp_path)


def check_a_killed_worker_loses_no_event(
    redis_server: RedisServer, redis_client: redis.Redis, tiktok: FakeTikTok, tmp_path: Path
) -> None:
    ids = [f"e{i}" for i in range(EVENTS)]
    add_events(redis_client, [event(event_id) for event_id in ids])
    settings = tmp_path / "settings.json"
    options = {"batch_size": 250, "max_retries": 3}
    settings.write_text(json.dumps(worker_settings(tiktok, **options)), encoding="utf-8")
    workers: dict[str, subprocess.Popen[bytes]] = {}

    def start(name: str) -> None:
        command = [sys.executable, "-m", "tiktok_destination", "worker", "--settings"]
        command += [str(settings), "--redis", redis_server.url, "--stream", STREAM]
        command += ["--consumer", name, "--claim-after", CLAIM_AFTER_S, "--exit-when-idle", "2"]
        with open(tmp_path / f"{name}.err", "wb") as err:
            workers[name] = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)

    def held_by(name: str) -> list[str]:
        rows: Any = redis_client.xpending_range(STREAM, DEFAULT_GROUP, "-", "+", EVENTS, name)
        return [row["message_id"] for row in rows]

    try:
        start("a")
        start("b")
        deadline = time.monotonic() + WAIT_S
        while True:  # freeze "a" midway while it holds entries, then kill it
            assert time.monotonic() < deadline, "the workers made no progress"
            if redis_client.xlen(f"{STREAM}:outcomes") >= EVENTS // 3:
                os.kill(workers["a"].pid, signal.SIGSTOP)
                held = held_by("a")
                if held:
                    break
                os.kill(workers["a"].pid, signal.SIGCONT)
            time.sleep(0.01)
        held_events: Any = [redis_client.xrange(STREAM, entry, entry) for entry in held]
        held_ids = {json.loads(rows[0][1][EVENT_FIELD])["id"] for rows in held_events}
        workers["a"].kill()
        workers["a"].wait(timeout=10)
        start("c")
        for name in ("b", "c"):
            assert workers[name].wait(timeout=WAIT_S) == 0, (tmp_path / f"{name}.err").read_text()
    finally:
        for process in workers.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)

    received = Counter(tiktok.event_ids)
    assert set(received) == set(ids)  # every event reached TikTok
    duplicates = {event_id for event_id, times in received.items() if times > 1}
    assert duplicates <= held_ids  # only from the batches "a" held when it died
    assert pending(redis_client) == 0
    records = outcomes(redis_client)
    assert len(records) == EVENTS
    assert len({record["entry"] for record in records}) == EVENTS  # exactly one outcome each
    assert {record["status"] for record in records} == {"delivered"}
    assert sorted(record["event_id"] for record in records) == sorted(ids)
    assert dead(redis_client) == []
    assert redis_client.xlen(STREAM) == EVENTS  # acknowledged; trimmed after the retention
    assert any(request.fault is not None for request in tiktok.requests)
