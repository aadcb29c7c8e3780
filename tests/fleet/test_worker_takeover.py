"""A fleet you can watch: the start-up line, timestamped lines, and a fast take-over.

Worker ``a`` is stuck in a request to a server that never answers while it holds entries; worker
``b`` runs beside it and leaves them alone for longer than a heartbeat's TTL (``a`` lives); then
``a`` is killed with ``kill -9``, and ``b`` takes them over as soon as ``a``'s heartbeat has
expired, well before ``--claim-after`` (60 s); every event reaches TikTok exactly once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import redis
from support.helpers import TOKEN
from support.hostile_server import HostileServer, Request
from support.redis_server import RedisServer
from support.tiktok_server import FakeTikTok
from support.worker_helpers import (
    STAMP,
    STREAM,
    add_events,
    event,
    outcomes,
    pending,
    worker_settings,
)

from tiktok_destination.cli import main as cli
from tiktok_destination.fleet.heartbeat import TTL_S
from tiktok_destination.fleet.streams import DEFAULT_GROUP, GroupConsumer

EVENTS = 100
CLAIM_AFTER_S = 60.0
TAKE_OVER_BOUND_S = CLAIM_AFTER_S / 2
"""Only the heartbeat can explain a take-over this soon: the fallback waits ``CLAIM_AFTER_S``."""
WAIT_S = 30.0


def wait_for(condition: Any, what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def hang(_request: Request) -> Iterator[float]:
    yield 120.0  # never answers (the server's stop wakes it)


FAR_FROM_UTC = "IST-5:30"
"""A local time zone (POSIX form, no tz database needed) 5 h 30 off UTC: stamps must be UTC."""


def start_worker(settings: Path, url: str, name: str, *extra: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "tiktok_destination", "worker", "--settings", str(settings)]
    command += ["--redis", url, "--stream", STREAM, "--consumer", name]
    command += ["--claim-after", f"{CLAIM_AFTER_S:g}", *extra]
    return subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TZ": FAR_FROM_UTC},
    )


def stamp_of(line: str) -> datetime:
    stamp = datetime.strptime(line.split(" ", 1)[0], "%Y-%m-%dT%H:%M:%S.%fZ")
    return stamp.replace(tzinfo=timezone.utc)


def write(path: Path, settings: dict[str, Any]) -> Path:
    path.write_text(json.dumps(settings), encoding="utf-8")
    return path


def test_a_worker_killed_holding_entries_is_taken_over_within_seconds(
    redis_server: RedisServer, redis_client: redis.Redis, tiktok: FakeTikTok, tmp_path: Path
) -> None:
    ids = [f"e{i}" for i in range(EVENTS)]
    add_events(redis_client, [event(event_id) for event_id in ids])
    one_batch = {"batch_size": 10, "max_concurrent_requests": 1}
    good = write(tmp_path / "good.json", worker_settings(tiktok, **one_batch))

    def held_by(name: str) -> list[str]:
        rows: Any = redis_client.xpending_range(STREAM, DEFAULT_GROUP, "-", "+", EVENTS, name)
        return [row["message_id"] for row in rows]

    workers: list[subprocess.Popen[str]] = []
    try:
        with HostileServer(hang) as black_hole:
            stuck = worker_settings(tiktok, api_url=black_hole.url, timeout_s=120, **one_batch)
            a = start_worker(write(tmp_path / "stuck.json", stuck), redis_server.url, "a")
            workers.append(a)
            wait_for(lambda: black_hole.requests and held_by("a"), "a stuck holding entries")
            held = held_by("a")
            b = start_worker(good, redis_server.url, "b", "--exit-when-idle", "1")
            workers.append(b)
            time.sleep(TTL_S + 2)  # b claims from gone workers every second: a is alive
            assert held_by("a") == held
            a.kill()  # kill -9: no clean-up of any kind
            a.wait(timeout=10)
            killed = time.monotonic()
        finished: set[str] = set()
        while not set(held) <= finished:
            assert time.monotonic() - killed < TAKE_OVER_BOUND_S, "not taken over in time"
            finished = {record["entry"] for record in outcomes(redis_client)}
            time.sleep(0.05)
        _out, err = b.communicate(timeout=WAIT_S)
    finally:
        for process in workers:
            if process.poll() is None:
                process.kill()
                process.communicate(timeout=10)
    assert b.returncode == 0, err
    assert len(held) == 10
    assert Counter(tiktok.event_ids) == Counter(ids)  # every event exactly once
    records = outcomes(redis_client)
    assert len(records) == EVENTS
    assert {record["status"] for record in records} == {"delivered"}
    assert sorted(record["event_id"] for record in records) == sorted(ids)
    assert pending(redis_client) == 0
    lines = err.splitlines()
    assert all(STAMP.match(line) for line in lines), err
    assert "worker started: stream test:events, group tiktok-destination, consumer b" in lines[0]
    assert abs((datetime.now(timezone.utc) - stamp_of(lines[0])).total_seconds()) < 600
    assert f"claimed 10 entries from worker a, gone (no heartbeat for {TTL_S:g} s)" in err
    assert TOKEN not in err


def test_the_start_up_line_says_where_it_reads_what_is_pending_and_never_the_token(
    redis_server: RedisServer,
    redis_client: redis.Redis,
    tiktok: FakeTikTok,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    add_events(redis_client, [event(f"e{i}") for i in range(4)])
    GroupConsumer(redis_client, STREAM, DEFAULT_GROUP, "ghost").join()
    GroupConsumer(redis_client, STREAM, DEFAULT_GROUP, "ghost").read(2, 10)
    GroupConsumer(redis_client, STREAM, DEFAULT_GROUP, "w1").read(1, 10)  # an earlier run
    add_events(redis_client, [event(f"f{i}") for i in range(3)])
    settings = write(tmp_path / "settings.json", worker_settings(tiktok, batch_size=5))
    argv = ["worker", "--settings", str(settings), "--redis", redis_server.url]
    argv += ["--stream", STREAM, "--consumer", "w1", "--exit-when-idle", "0.5"]
    assert cli.main([*argv, "--claim-after", f"{CLAIM_AFTER_S:g}"]) == 0
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert all(STAMP.match(line) for line in lines), err
    first = lines[0].split(" ", 2)[2]
    assert first.startswith(
        "worker started: stream test:events, group tiktok-destination, consumer w1, claim after "
        "60 s; pending 3 (ghost: 2 without heartbeat, w1: 1); 4 not yet read; settings {"
    )
    shown = json.loads(first.split("; settings ", 1)[1])
    assert shown == {**worker_settings(tiktok, batch_size=5), "access_token": "(hidden)"}
    assert TOKEN not in err
    assert "claimed 1 entries left under this worker's name by an earlier run" in err
    assert f"claimed 2 entries from worker ghost, gone (no heartbeat for {TTL_S:g} s)" in err
    assert lines[-1].endswith(
        "INFO worker w1 done; outcomes in test:events:outcomes, dead entries in test:events:dead"
    )
    assert len(tiktok.event_ids) == 7
    assert pending(redis_client) == 0
    assert redis_client.keys("*:heartbeat:*") == []  # deleted at exit: nothing waits for its TTL
