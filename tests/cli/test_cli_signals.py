"""SIGINT and SIGTERM stop ``send`` cleanly: real subprocesses, real signals, bounded waits.

The commands are started as a shell starts a background job, with SIGINT ignored: they must
stop all the same (a run that inherited an ignored SIGINT used to finish and exit 0).
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path
from typing import IO, Any

import pytest
from support.cli_helpers import (
    WAIT_S,
    final,
    no_traceback,
    purchase,
    read_outcomes,
    start_cli,
    start_cli_writing_to_a_pipe,
    write_events,
    write_settings,
)
from support.helpers import TOKEN
from support.tiktok_server import FakeTikTok, Stall

from tiktok_destination.cli.event_files import read_lines
from tiktok_destination.cli.host import plugin_manager
from tiktok_destination.cli.outcome_log import OutcomeLog
from tiktok_destination.cli.send_input import chunked
from tiktok_destination.cli.send_run import INTERRUPTED_BEFORE, INTERRUPTED_DURING, SendRun
from tiktok_destination.delivery.deliverer import Deliverer, Prepared
from tiktok_destination.outcomes import SendOutcome


def wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def statuses(path: Path) -> dict[str, str]:
    """The latest status of each event in an outcomes file being written (whole lines only)."""
    text = path.read_bytes().decode() if path.exists() else ""
    whole = text[: text.rfind("\n") + 1]
    return {r["event_id"]: r["status"] for r in map(json.loads, whole.splitlines())}


def unread(pipe: IO[str]) -> int:
    """Bytes written to ``pipe`` that its reader has not read yet."""
    return int(struct.unpack("i", fcntl.ioctl(pipe.fileno(), termios.FIONREAD, b"\0" * 4))[0])


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stop_signal_stops_a_real_run_cleanly(tmp_path: Path, signum: int, code: int) -> None:
    with FakeTikTok(TOKEN, policy=lambda number, body: Stall(3.0)) as slow:
        settings = write_settings(  # one buffer in flight (test_cli_concurrency has several)
            tmp_path / "s.json", slow, batch_size=2, timeout_s=30, max_concurrent_requests=1
        )
        events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(5)])
        out = tmp_path / "out.jsonl"
        process = start_cli("send", "--settings", settings, events, "--outcomes", str(out))
        try:
            wait_for(lambda: slow.requests, "the first request")
            process.send_signal(signum)
            _stdout, stderr = process.communicate(timeout=WAIT_S)
        finally:
            process.kill()
            process.wait(timeout=WAIT_S)
    assert process.returncode == code, stderr
    assert "interrupted" in stderr and TOKEN not in stderr and no_traceback(stderr)
    outcomes = final(read_outcomes(out))
    assert [(line, r["status"], r["message"]) for line, r in outcomes.items()] == [
        (1, "failed", INTERRUPTED_DURING),
        (2, "failed", INTERRUPTED_DURING),
        (3, "failed", INTERRUPTED_BEFORE),  # read (and transformed) with the first two,
        (4, "failed", INTERRUPTED_BEFORE),  # waiting for their requests
        (5, "failed", INTERRUPTED_BEFORE),
    ]


def test_a_signal_waits_until_the_records_being_written_are_whole(
    tmp_path: Path, tiktok: FakeTikTok
) -> None:
    """SIGINT while ``send`` is blocked writing records (a pipe nobody reads): they are finished
    first, then the run stops; no record is cut, no event is left without an outcome."""
    count = 600  # their "sending" records fill the pipe many times over
    settings = write_settings(tmp_path / "s.json", tiktok, batch_size=count)
    events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(count)])
    fifo = tmp_path / "outcomes.pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    out = str(tmp_path / "out.jsonl")
    process = start_cli_writing_to_a_pipe(
        fifo, "send", "--settings", settings, events, "--outcomes", out
    )
    received = b""
    try:
        assert select.select([reader], [], [], WAIT_S)[0], "send never wrote a record"
        received += os.read(reader, 4096)
        time.sleep(0.3)  # the writer fills the pipe again and blocks in the middle of a record
        process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            if select.select([reader], [], [], 1)[0]:
                chunk = os.read(reader, 65536)
                if not chunk and process.poll() is not None:
                    break
                received += chunk
        assert process.wait(timeout=WAIT_S) == 130
    finally:
        process.kill()
        process.wait(timeout=WAIT_S)
        os.close(reader)
    records = [json.loads(line) for line in received.decode().splitlines()]  # all whole
    assert [r["status"] for r in records] == ["sending"] * count + ["failed"] * count
    assert sorted(final(records)) == list(range(1, count + 1))
    assert tiktok.requests == []  # stopped before the post, and every event says so


def interrupt_delivery(monkeypatch: pytest.MonkeyPatch, number: int) -> None:
    """The ``number``-th delivery of a buffer is interrupted as if by Ctrl-C."""
    real = Deliverer.deliver
    deliveries = 0

    def deliver(deliverer: Deliverer, prepared: Prepared) -> list[SendOutcome]:
        nonlocal deliveries
        deliveries += 1
        if deliveries == number:
            raise KeyboardInterrupt
        return real(deliverer, prepared)

    monkeypatch.setattr(Deliverer, "deliver", deliver)


def test_ctrl_c_keeps_outcomes_true(
    tmp_path: Path, tiktok: FakeTikTok, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = {
        "access_token": TOKEN,
        "pixel_id": "PIXEL",
        "app_id": "APP",
        "api_url": tiktok.url,
        "batch_size": 4,
        "max_concurrent_requests": 1,
    }
    app_event = {
        "event_name": "launch_app",
        "id": "app-1",
        "context": {"app": {"namespace": "x"}},
        "partners": {"tiktok": {"event_source": "app"}},
    }
    path = Path(write_events(tmp_path / "e.jsonl", [app_event] + [purchase(n) for n in range(10)]))
    out = tmp_path / "out.jsonl"
    log = OutcomeLog(str(out), append=False)
    interrupt_delivery(monkeypatch, 2)
    run = SendRun(plugin_manager().hook, settings, outcomes=log)
    with path.open("rb") as stream:
        assert run.run(chunked(read_lines(stream), 1)) is False  # one line at a time
    log.close()
    outcomes = final(read_outcomes(out))
    # the lines read before the interrupt was seen (all 8 sent, maybe more) have one outcome
    assert sorted(outcomes) == list(range(1, len(outcomes) + 1)) and len(outcomes) >= 9
    records = {r["event_id"]: r for r in outcomes.values()}
    delivered = {e for e, r in records.items() if r["status"] == "delivered"}
    assert delivered == {"order-0", "order-1", "order-2", "order-3"} == set(tiktok.event_ids)
    during = {"order-4", "order-5", "order-6", "order-7"}
    assert {e for e, r in records.items() if r["message"] == INTERRUPTED_DURING} == during
    waiting = set(records) - delivered - during  # the app event, and web events read after
    assert "app-1" in waiting
    assert {e for e, r in records.items() if r["message"] == INTERRUPTED_BEFORE} == waiting


def test_sigint_on_a_stdin_stream_stops_cleanly(tmp_path: Path, tiktok: FakeTikTok) -> None:
    settings = write_settings(tmp_path / "s.json", tiktok)
    out = tmp_path / "out.jsonl"
    process = start_cli(
        "send", "--settings", settings, "-", "--outcomes", str(out), stdin=subprocess.PIPE
    )
    assert process.stdin is not None
    try:
        process.stdin.write(json.dumps(purchase(0)) + "\n")
        process.stdin.flush()
        # its outcome recorded, not only posted: a signal before that makes it "interrupted"
        wait_for(lambda: statuses(out).get("order-0") == "delivered", "the first outcome")
        process.stdin.write(json.dumps(purchase(1)) + "\n")
        process.stdin.flush()
        wait_for(lambda: unread(process.stdin) == 0, "send to read the second event")
        time.sleep(0.5)  # taken off the reading thread (ms); flushed only 2 s after: not yet sent
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=WAIT_S) == 130
    finally:
        process.kill()
        process.wait(timeout=WAIT_S)
        process.stdin.close()
    records = {r["event_id"]: r for r in final(read_outcomes(out)).values()}
    assert records["order-0"]["status"] == "delivered"
    assert records["order-1"] == {
        **records["order-1"],
        "status": "failed",
        "message": INTERRUPTED_BEFORE,
    }
