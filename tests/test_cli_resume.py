"""``send --resume``: after an outage, a SIGTERM or a ``kill -9``, a rerun finishes the job
without sending again what TikTok already has (the fake server counts every event it got)."""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

from cli_helpers import (
    WAIT_S,
    final,
    purchase,
    read_outcomes,
    run_cli,
    start_cli,
    write_events,
    write_settings,
)
from helpers import TOKEN
from tiktok_server import FakeTikTok, Fault, HttpStatus, Stall


class Switchable:
    """A server policy that can be changed while the server runs."""

    def __init__(self) -> None:
        self.fault: Any = None

    def __call__(self, number: int, body: Any) -> Fault | None:
        fault = self.fault(number) if self.fault is not None else None
        return fault if isinstance(fault, HttpStatus | Stall) else None


def wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_resume_after_an_outage_sends_only_what_was_not_delivered(tmp_path: Path) -> None:
    policy = Switchable()
    with FakeTikTok(TOKEN, policy=policy) as server:
        settings = write_settings(  # one request at a time: the first to arrive holds order-0
            tmp_path / "s.json", server, batch_size=3, max_retries=0, max_concurrent_requests=1
        )
        events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(9)])
        out = str(tmp_path / "out.jsonl")
        policy.fault = lambda number: HttpStatus(503) if number >= 1 else None  # down after one
        first = run_cli("send", "--settings", settings, events, "--outcomes", out)
        assert first.returncode == 1, first.stderr
        assert server.event_ids == ["order-0", "order-1", "order-2"]
        policy.fault = None  # back up
        again = run_cli("send", "--settings", settings, events, "--outcomes", out, "--resume")
        assert again.returncode == 0, again.stderr
        assert "3 lines finished by an earlier run, passed over" in again.stderr
        assert Counter(server.event_ids) == Counter(f"order-{n}" for n in range(9))  # once each
    outcomes = final(read_outcomes(tmp_path / "out.jsonl"))
    assert {r["status"] for r in outcomes.values()} == {"delivered"} and len(outcomes) == 9


def test_resume_after_sigterm(tmp_path: Path) -> None:
    policy = Switchable()
    with FakeTikTok(TOKEN, policy=policy) as server:
        settings = write_settings(  # one buffer in flight (test_cli_concurrency has several)
            tmp_path / "s.json", server, batch_size=2, timeout_s=30, max_concurrent_requests=1
        )
        events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(6)])
        out = str(tmp_path / "out.jsonl")
        policy.fault = lambda number: Stall(5.0) if number == 1 else None
        process = start_cli("send", "--settings", settings, events, "--outcomes", out)
        try:
            wait_for(lambda: len(server.requests) == 2, "the second request")
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=WAIT_S) == 143
        finally:
            process.kill()
            process.wait(timeout=WAIT_S)
        policy.fault = None
        again = run_cli("send", "--settings", settings, events, "--outcomes", out, "--resume")
        assert again.returncode == 0, again.stderr
        wait_for(lambda: len(server.event_ids) >= 8, "the stalled request to end")
        got = Counter(server.event_ids)
    assert got["order-0"] == got["order-1"] == 1  # delivered before SIGTERM: not sent again
    assert set(got) == {f"order-{n}" for n in range(6)}
    assert got["order-2"] == got["order-3"] == 2  # in flight at SIGTERM: may arrive twice
    assert all(r["status"] == "delivered" for r in final(read_outcomes(Path(out))).values())


def test_after_kill_9_the_outcomes_show_what_may_have_reached_tiktok(tmp_path: Path) -> None:
    policy = Switchable()
    with FakeTikTok(TOKEN, policy=policy) as server:
        settings = write_settings(  # one buffer in flight (test_cli_concurrency has several)
            tmp_path / "s.json", server, batch_size=2, timeout_s=30, max_concurrent_requests=1
        )
        events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(4)])
        out = tmp_path / "out.jsonl"
        policy.fault = lambda number: Stall(3.0)
        process = start_cli("send", "--settings", settings, events, "--outcomes", str(out))
        try:
            wait_for(lambda: server.requests, "the first request")
            process.send_signal(signal.SIGKILL)
            assert process.wait(timeout=WAIT_S) == -signal.SIGKILL
        finally:
            process.kill()
            process.wait(timeout=WAIT_S)
        records = read_outcomes(out)
        assert [(r["line"], r["event_id"], r["status"]) for r in records] == [
            (1, "order-0", "sending"),
            (2, "order-1", "sending"),
        ]  # never under-reports: these two may have reached TikTok
        policy.fault = None
        out.write_text(out.read_text()[:-7], encoding="utf-8")  # as if cut mid-record, too
        again = run_cli("send", "--settings", settings, events, "--outcomes", str(out), "--resume")
        assert again.returncode == 0, again.stderr
    outcomes = final([r for r in map(_json_or_none, out.read_text().splitlines()) if r])
    assert {line: r["status"] for line, r in outcomes.items()} == {
        1: "delivered",
        2: "delivered",
        3: "delivered",
        4: "delivered",
    }


def _json_or_none(line: str) -> Any:
    import json

    try:
        return json.loads(line)
    except ValueError:
        return None


def test_resume_keeps_finished_lines_and_their_exit_code(
    tmp_path: Path, tiktok: FakeTikTok
) -> None:
    tiktok.bad_event_ids.add("order-1")
    lines: list[Any] = [purchase(0), purchase(1), {"event_name": "newsletter_open"}, "{broken"]
    settings = write_settings(tmp_path / "s.json", tiktok)
    events = write_events(tmp_path / "e.jsonl", lines)
    out = str(tmp_path / "out.jsonl")
    assert run_cli("send", "--settings", settings, events, "--outcomes", out).returncode == 3
    requests = len(tiktok.requests)
    again = run_cli("send", "--settings", settings, events, "--outcomes", out, "--resume")
    assert again.returncode == 3  # the rejected and the invalid lines still need fixing
    assert len(tiktok.requests) == requests  # nothing left to send
    assert "4 lines finished by an earlier run" in again.stderr
