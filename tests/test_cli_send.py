"""``tiktok-destination send`` against the fake TikTok server: outcomes, dry run, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import TOKEN
from tiktok_server import BodyCode, FakeTikTok, Stall

from tiktok_destination.cli import main, plugin_manager
from tiktok_destination.records import read_records
from tiktok_destination.sending import INTERRUPTED_BEFORE, INTERRUPTED_DURING, SendRun


def purchase(n: int) -> dict[str, Any]:
    return {
        "event_name": "purchase",
        "id": f"order-{n}",
        "value": n,
        "currency": "EUR",
        "context": {"event_timestamp": 1700000000 + n},
        "user": {"email": f"u{n}@example.com"},
    }


def write_events(path: Path, events: list[Any]) -> str:
    lines = [event if isinstance(event, str) else json.dumps(event) for event in events]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def write_settings(path: Path, tiktok: FakeTikTok, **extra: Any) -> str:
    settings = {"access_token": TOKEN, "pixel_id": "PIXEL", "api_url": tiktok.url, **extra}
    path.write_text(json.dumps(settings), encoding="utf-8")
    return str(path)


def read_outcomes(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def start_send(settings: str, events: str, *extra: str, stdin: Any = None) -> subprocess.Popen[str]:
    """``tiktok-destination send`` in a process of its own (stdout dropped, stderr piped)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tiktok_destination",
            "send",
            "--settings",
            settings,
            events,
            *extra,
        ],
        stdin=stdin,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_send_delivers_and_records_every_event(
    tmp_path: Path, tiktok: FakeTikTok, capsys: pytest.CaptureFixture[str]
) -> None:
    events = [purchase(n) for n in range(25)] + ["{broken", {"event_name": "login"}]
    settings = write_settings(tmp_path / "s.json", tiktok, batch_size=10)
    code = main(
        [
            "send",
            "--settings",
            settings,
            write_events(tmp_path / "e.jsonl", events),
            "--outcomes",
            str(tmp_path / "out.jsonl"),
        ]
    )
    assert code == 1  # a broken line and an unmapped event were not delivered
    records = read_outcomes(tmp_path / "out.jsonl")
    assert sorted(record["line"] for record in records) == list(range(1, 28))
    by_status: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_status.setdefault(record["status"], []).append(record)
    assert len(by_status["delivered"]) == 25
    assert [r["line"] for r in by_status["invalid"]] == [26]
    assert [r["line"] for r in by_status["skipped"]] == [27]
    assert sorted(tiktok.event_ids) == sorted(f"order-{n}" for n in range(25))
    assert [len(request.event_ids) for request in tiktok.requests] == [10, 10, 5]
    assert all(r["request_id"] for r in by_status["delivered"])
    err = capsys.readouterr().err
    assert "delivered 25" in err and "invalid 1" in err and "skipped 1" in err
    assert TOKEN not in err


def test_send_exits_zero_when_everything_is_delivered(tmp_path: Path, tiktok: FakeTikTok) -> None:
    settings = write_settings(tmp_path / "s.json", tiktok)
    events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(3)])
    assert main(["send", "--settings", settings, events]) == 0
    assert len(tiktok.event_ids) == 3


def test_rejected_events_are_named_and_the_rest_delivered(
    tmp_path: Path, tiktok: FakeTikTok
) -> None:
    tiktok.bad_event_ids.add("order-3")
    settings = write_settings(tmp_path / "s.json", tiktok)
    events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(8)])
    out = tmp_path / "out.jsonl"
    assert main(["send", "--settings", settings, events, "--outcomes", str(out)]) == 1
    rejected = [r for r in read_outcomes(out) if r["status"] == "rejected"]
    assert [(r["line"], r["event_id"], r["code"]) for r in rejected] == [(4, "order-3", 40002)]
    assert "order-3" in rejected[0]["message"]
    assert sorted(tiktok.event_ids) == sorted(f"order-{n}" for n in range(8) if n != 3)


def test_a_refused_token_fails_everything_without_showing_it(
    tmp_path: Path, tiktok: FakeTikTok, capsys: pytest.CaptureFixture[str]
) -> None:
    tiktok.fail_next(BodyCode(40105, "Access token is incorrect or has been revoked"))
    settings = write_settings(tmp_path / "s.json", tiktok, batch_size=5)
    events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(12)])
    out = tmp_path / "out.jsonl"
    assert main(["send", "--settings", settings, events, "--outcomes", str(out)]) == 1
    records = read_outcomes(out)
    assert [r["status"] for r in records] == ["failed"] * 12
    assert "access_token" in records[0]["message"]
    assert len(tiktok.requests) == 1  # stopped at once: no request after the refusal
    captured = capsys.readouterr()
    assert TOKEN not in captured.out + captured.err + out.read_text()


def test_dry_run_prints_requests_and_sends_nothing(
    tmp_path: Path, tiktok: FakeTikTok, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = write_settings(tmp_path / "s.json", tiktok, batch_size=2)
    events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(3)])
    assert main(["send", "--settings", settings, events, "--dry-run"]) == 0
    captured = capsys.readouterr()
    requests = [json.loads(line) for line in captured.out.splitlines()]
    assert [len(r["json"]["data"]) for r in requests] == [2, 1]
    assert requests[0]["headers"]["Access-Token"] == "<redacted>"
    assert requests[0]["url"] == tiktok.url
    assert tiktok.requests == []
    assert TOKEN not in captured.out + captured.err


def test_test_event_code_warns_and_sends_one_event_per_request(
    tmp_path: Path, tiktok: FakeTikTok, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = write_settings(tmp_path / "s.json", tiktok, test_event_code="TEST123")
    events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(3)])
    assert main(["send", "--settings", settings, events]) == 0
    assert "does not save them" in capsys.readouterr().err
    assert [len(r.event_ids) for r in tiktok.requests] == [1, 1, 1]
    assert {e["test_event_code"] for e in tiktok.events} == {"TEST123"}


class InterruptingHook:
    """The real hooks, but the n-th send is interrupted as if by Ctrl-C."""

    def __init__(self, interrupt_send: int) -> None:
        self.real = plugin_manager().hook
        self.sends = 0
        self.interrupt_send = interrupt_send

    def cdp_destination_transform(self, **kwargs: Any) -> Any:
        return self.real.cdp_destination_transform(**kwargs)

    def cdp_destination_send(self, **kwargs: Any) -> Any:
        self.sends += 1
        if self.sends == self.interrupt_send:
            raise KeyboardInterrupt
        return self.real.cdp_destination_send(**kwargs)


def test_ctrl_c_keeps_outcomes_true(tmp_path: Path, tiktok: FakeTikTok) -> None:
    settings = {
        "access_token": TOKEN,
        "pixel_id": "PIXEL",
        "app_id": "APP",
        "api_url": tiktok.url,
        "batch_size": 4,
    }
    app_event = {
        "event_name": "launch_app",
        "id": "app-1",
        "context": {"app": {"namespace": "x"}},
        "partners": {"tiktok": {"event_source": "app"}},
    }
    events = [app_event] + [purchase(n) for n in range(10)]
    path = tmp_path / "e.jsonl"
    write_events(path, events)
    out = tmp_path / "out.jsonl"
    run = SendRun(
        InterruptingHook(interrupt_send=2), settings, outcomes_path=str(out), dry_run=False
    )
    with path.open(encoding="utf-8") as stream:
        assert run.run(read_records(stream)) is False
    records = {r["event_id"]: r for r in read_outcomes(out)}
    assert len(records) == 9  # 1 app event waiting + 8 web events read before the interrupt
    delivered = {e for e, r in records.items() if r["status"] == "delivered"}
    assert delivered == {"order-0", "order-1", "order-2", "order-3"} == set(tiktok.event_ids)
    assert {e for e, r in records.items() if r["message"] == INTERRUPTED_DURING} == {
        "order-4",
        "order-5",
        "order-6",
        "order-7",
    }
    assert records["app-1"]["message"] == INTERRUPTED_BEFORE
    assert not run.all_done()


def test_sigint_stops_a_real_run_cleanly(tmp_path: Path) -> None:
    with FakeTikTok(TOKEN, policy=lambda number, body: Stall(3.0)) as slow:
        settings = write_settings(tmp_path / "s.json", slow, batch_size=2, timeout_s=30)
        events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(5)])
        out = tmp_path / "out.jsonl"
        process = start_send(settings, events, "--outcomes", str(out))
        deadline = time.monotonic() + 20
        while not slow.requests and time.monotonic() < deadline:
            time.sleep(0.02)
        assert slow.requests, "the command never sent a request"
        process.send_signal(signal.SIGINT)
        _stdout, stderr = process.communicate(timeout=20)
    assert process.returncode == 130
    assert "interrupted" in stderr and TOKEN not in stderr
    records = read_outcomes(out)
    assert [r["status"] for r in records] == ["failed", "failed"]
    assert {r["message"] for r in records} == {INTERRUPTED_DURING}


def run_on_a_terminal(argv: list[str]) -> str:
    """Run the command with stderr on a pseudo-terminal of 120 columns; what it showed there."""
    import fcntl
    import pty
    import struct
    import termios

    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "tiktok_destination", *argv],
        stdout=subprocess.DEVNULL,
        stderr=terminal,
        stdin=subprocess.DEVNULL,
    )
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        shown += chunk
    process.wait(timeout=30)
    os.close(controller)
    return shown.decode(errors="replace")


def test_a_terminal_shows_a_progress_bar(tmp_path: Path, tiktok: FakeTikTok) -> None:
    settings = write_settings(tmp_path / "s.json", tiktok, batch_size=100)
    events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(300)])
    shown = run_on_a_terminal(["send", "--settings", settings, events])
    bar = [line for line in shown.split("\r") if " events [" in line]  # tqdm's redrawn line
    assert bar and any("delivered 300, rejected 0, failed 0" in line for line in bar)
    assert "read 300: ok 300" in shown and TOKEN not in shown
    plain = subprocess.run(
        [sys.executable, "-m", "tiktok_destination", "send", "--settings", settings, events],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "\r" not in plain.stderr  # no bar when stderr is not a terminal


def test_a_quiet_stream_on_stdin_still_delivers(tmp_path: Path, tiktok: FakeTikTok) -> None:
    settings = write_settings(tmp_path / "s.json", tiktok)  # batch_size 1000: never full here
    process = start_send(settings, "-", stdin=subprocess.PIPE)
    assert process.stdin is not None
    for n in range(3):
        process.stdin.write(json.dumps(purchase(n)) + "\n")
    process.stdin.flush()
    deadline = time.monotonic() + 15
    while len(tiktok.event_ids) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(tiktok.event_ids) == ["order-0", "order-1", "order-2"]  # stdin still open
    assert process.poll() is None
    process.stdin.write(json.dumps(purchase(3)) + "\n")
    process.stdin.close()
    assert process.wait(timeout=15) == 0
    assert sorted(tiktok.event_ids)[-1] == "order-3"


def test_sigint_on_a_stdin_stream_stops_cleanly(tmp_path: Path, tiktok: FakeTikTok) -> None:
    settings = write_settings(tmp_path / "s.json", tiktok)
    out = tmp_path / "out.jsonl"
    process = start_send(settings, "-", "--outcomes", str(out), stdin=subprocess.PIPE)
    assert process.stdin is not None
    process.stdin.write(json.dumps(purchase(0)) + "\n")
    process.stdin.flush()
    deadline = time.monotonic() + 15
    while not tiktok.event_ids and time.monotonic() < deadline:
        time.sleep(0.05)
    process.stdin.write(json.dumps(purchase(1)) + "\n")
    process.stdin.flush()
    time.sleep(0.5)  # read and buffered, not yet sent (buffers wait up to 2 s)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=15) == 130
    process.stdin.close()
    records = {r["event_id"]: r for r in read_outcomes(out)}
    assert records["order-0"]["status"] == "delivered"
    assert records["order-1"] == {
        **records["order-1"],
        "status": "failed",
        "message": INTERRUPTED_BEFORE,
    }
