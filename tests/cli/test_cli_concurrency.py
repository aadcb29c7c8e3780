"""``send`` with several buffers in flight (``max_concurrent_requests``) keeps its guarantees.

Real subprocesses and a fake TikTok a few hundred milliseconds away, so buffers really overlap:
every event one final outcome after its ``sending`` record, the first request alone, a refused
token stopping after one request, memory bounded by the window, SIGINT and SIGTERM leaving
outcomes that are true. The server's timeline is the evidence; no test asserts a duration.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.cli_helpers import (
    WAIT_S,
    final,
    no_traceback,
    purchase,
    read_outcomes,
    run_cli,
    start_cli,
    write_events,
    write_settings,
)
from support.helpers import TOKEN
from support.tiktok_server import FakeTikTok, Stall

from tiktok_destination.cli.send_run import INTERRUPTED_BEFORE, INTERRUPTED_DURING

LATENCY_S = 0.3


def wait_for(condition: Callable[[], Any], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_buffers_overlap_and_every_event_gets_its_outcome_after_its_sending_record(
    tmp_path: Path,
) -> None:
    with FakeTikTok(TOKEN, latency_s=LATENCY_S) as server:
        settings = write_settings(
            tmp_path / "s.json", server, batch_size=5, max_concurrent_requests=4
        )
        events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(60)])
        out = tmp_path / "out.jsonl"
        done = run_cli("send", "--settings", settings, events, "--outcomes", str(out))
        assert done.returncode == 0, done.stderr
        records = read_outcomes(out)
        assert 2 <= server.most_in_flight() <= 4
        assert server.timeline[:2] == [("in", 0), ("out", 0)]  # the first request went alone
        assert sorted(server.event_ids) == sorted(f"order-{n}" for n in range(60))
    for line in range(1, 61):
        mine = [(r["status"], r["event_id"]) for r in records if r["line"] == line]
        assert mine == [("sending", f"order-{line - 1}"), ("delivered", f"order-{line - 1}")]
    sending_at = {r["line"]: i for i, r in enumerate(records) if r["status"] == "sending"}
    for i, record in enumerate(records):
        if record["status"] == "delivered":
            assert sending_at[record["line"]] < i


def test_a_refused_token_stops_after_one_request(tmp_path: Path) -> None:
    with FakeTikTok("the-right-token", latency_s=LATENCY_S) as server:
        settings = write_settings(
            tmp_path / "s.json", server, batch_size=2, max_concurrent_requests=8
        )
        events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(40)])
        out = tmp_path / "out.jsonl"
        done = run_cli("send", "--settings", settings, events, "--outcomes", str(out))
        assert len(server.requests) == 1
    assert done.returncode != 0 and TOKEN not in done.stderr + out.read_text()
    outcomes = final(read_outcomes(out))
    assert sorted(outcomes) == list(range(1, 41))
    assert {r["status"] for r in outcomes.values()} == {"failed"}


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stop_signal_with_buffers_in_flight_leaves_true_outcomes(
    tmp_path: Path, signum: int, code: int
) -> None:
    window, batch = 3, 2
    # Request 0 opens the slots; the next ones stall, so the window fills and stays full.
    with FakeTikTok(TOKEN, policy=lambda n, _b: Stall(4.0) if n >= 1 else None) as server:
        settings = write_settings(
            tmp_path / "s.json",
            server,
            batch_size=batch,
            timeout_s=30,
            max_concurrent_requests=window,
        )
        events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(200)])
        out = tmp_path / "out.jsonl"
        process = start_cli("send", "--settings", settings, events, "--outcomes", str(out))
        try:
            wait_for(lambda: len(server.requests) >= 1 + window, "the window of requests")
            time.sleep(0.5)  # a reader that ignored the window would read on meanwhile
            # Memory bounded by the window: lines posted and not answered yet. (Not every
            # "sending" record: on a loaded machine the stalls may end before this reads.)
            seen = read_outcomes(out)
            unanswered = {r["line"] for r in seen if r["status"] == "sending"} - set(final(seen))
            assert len(unanswered) <= window * batch
            process.send_signal(signum)
            _stdout, stderr = process.communicate(timeout=WAIT_S)
        finally:
            process.kill()
            process.wait(timeout=WAIT_S)
        arrived = set(server.event_ids)  # the stalled requests are recorded when answered
    assert process.returncode == code, stderr
    assert "interrupted" in stderr and no_traceback(stderr)
    records = read_outcomes(out)
    outcomes = final(records)
    sent_lines = {r["line"] for r in records if r["status"] == "sending"}
    assert sent_lines <= set(outcomes)  # every event posted has its final outcome
    assert sorted(outcomes) == list(range(1, len(outcomes) + 1))  # lines read, none skipped
    for line, record in outcomes.items():
        if record["status"] == "delivered":
            assert record["event_id"] in arrived
        else:
            assert record["status"] == "failed"
            assert record["message"] in (INTERRUPTED_BEFORE, INTERRUPTED_DURING)
            if record["message"] == INTERRUPTED_BEFORE:
                assert line not in sent_lines and record["event_id"] not in arrived


@pytest.mark.parametrize("resume", [False, True])
def test_a_second_run_on_an_outcomes_file_in_use_is_refused_and_touches_nothing(
    tmp_path: Path, resume: bool
) -> None:
    with FakeTikTok(TOKEN, policy=lambda n, _b: Stall(4.0) if n == 0 else None) as server:
        settings = write_settings(tmp_path / "s.json", server, batch_size=2, timeout_s=30)
        events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(4)])
        out = tmp_path / "out.jsonl"
        first = start_cli("send", "--settings", settings, events, "--outcomes", str(out))
        try:
            wait_for(lambda: server.requests, "the first run's request")  # it holds the file
            written = out.read_bytes()
            second = run_cli(
                "send",
                "--settings",
                settings,
                events,
                "--outcomes",
                str(out),
                *(["--resume"] if resume else []),
            )
            assert first.poll() is None, "the first run ended: nothing was held"
            assert second.returncode == 2 and no_traceback(second.stderr), second.stderr
            assert second.stderr.splitlines()[-1] == (
                f"tiktok-destination: --outcomes {out}: another run is writing it (locked); "
                "wait for it to end or name another file"
            )
            assert out.read_bytes().startswith(written)  # not truncated, nothing added
            assert first.wait(timeout=WAIT_S) == 0
        finally:
            first.kill()
            first.wait(timeout=WAIT_S)
        assert sorted(server.event_ids) == [f"order-{n}" for n in range(4)]  # by the first only
    outcomes = final(read_outcomes(out))
    assert {line: r["status"] for line, r in outcomes.items()} == dict.fromkeys(
        range(1, 5), "delivered"
    )
