"""``send --resume``: after an outage, a SIGTERM or a ``kill -9``, a rerun finishes the job
without sending again what TikTok already has (the fake server counts every event it got)."""

from __future__ import annotations

import json
import signal
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

from support.cli_helpers import (
    WAIT_S,
    final,
    purchase,
    read_outcomes,
    run_cli,
    start_cli,
    write_events,
    write_settings,
)
from support.helpers import TOKEN
from support.tiktok_server import FakeTikTok, Fault, HttpStatus, Stall

from tiktok_destination.cli.resume import CHANGED, MAX_LINE, Finished, read_finished


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


def resume(settings: str, events: str, out: str, **options: Any) -> Any:
    return run_cli("send", "--settings", settings, events, "--outcomes", out, "--resume", **options)


def test_a_new_file_under_the_same_name_is_sent_not_passed_over(
    tmp_path: Path, tiktok: FakeTikTok
) -> None:
    settings = write_settings(tmp_path / "s.json", tiktok)
    events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(10)])
    out = str(tmp_path / "out.jsonl")
    assert run_cli("send", "--settings", settings, events, "--outcomes", out).returncode == 0
    write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(100, 110)])  # today's file
    again = resume(settings, events, out)
    assert again.returncode == 0, again.stderr
    assert "10 lines differ from the lines the outcomes file recorded as finished" in again.stderr
    assert Counter(tiktok.event_ids) == Counter(
        [f"order-{n}" for n in range(10)] + [f"order-{n}" for n in range(100, 110)]
    )  # the 10 new events sent, once each
    latest = final(read_outcomes(Path(out)))
    assert [latest[line]["event_id"] for line in range(1, 11)] == [
        f"order-{n}" for n in range(100, 110)
    ]


def test_resume_on_stdin_knows_the_lines_it_finished_and_sends_new_ones(
    tmp_path: Path, tiktok: FakeTikTok
) -> None:
    settings = write_settings(tmp_path / "s.json", tiktok)
    out = str(tmp_path / "out.jsonl")
    first = b"".join(json.dumps(purchase(n)).encode() + b"\n" for n in range(4))
    assert (
        run_cli("send", "--settings", settings, "-", "--outcomes", out, stdin=first).returncode == 0
    )
    same = resume(settings, "-", out, stdin=first)
    assert same.returncode == 0 and "4 lines finished by an earlier run" in same.stderr
    assert len(tiktok.event_ids) == 4  # nothing sent twice
    grown = first + json.dumps(purchase(4)).encode() + b"\n"
    assert resume(settings, "-", out, stdin=grown).returncode == 0
    other = b"".join(json.dumps(purchase(n)).encode() + b"\n" for n in range(50, 55))
    assert resume(settings, "-", out, stdin=other).returncode == 0
    assert Counter(tiktok.event_ids) == Counter(
        [f"order-{n}" for n in range(5)] + [f"order-{n}" for n in range(50, 55)]
    )


def test_resume_of_an_array_sends_the_element_that_changed(
    tmp_path: Path, tiktok: FakeTikTok
) -> None:
    tiktok.bad_event_ids.add("order-2")
    settings = write_settings(tmp_path / "s.json", tiktok)
    path = tmp_path / "e.json"
    path.write_text(json.dumps([purchase(n) for n in range(5)], indent=1), encoding="utf-8")
    out = str(tmp_path / "out.jsonl")
    assert run_cli("send", "--settings", settings, str(path), "--outcomes", out).returncode == 3
    fixed = [purchase(n) for n in range(5)]
    fixed[2]["id"] = "order-2-fixed"  # the rejected element, corrected
    path.write_text(json.dumps(fixed, indent=1), encoding="utf-8")
    again = resume(settings, str(path), out)
    assert again.returncode == 0, again.stderr
    assert "4 lines finished by an earlier run" in again.stderr and "1 lines differ" in again.stderr
    accepted = ["order-0", "order-1", "order-3", "order-4"]  # order-2 was rejected
    assert sorted(tiktok.event_ids) == sorted([*accepted, "order-2-fixed"])  # once each


def test_resume_never_glues_a_record_onto_a_line_cut_by_a_crash(
    tmp_path: Path, tiktok: FakeTikTok
) -> None:
    settings = write_settings(tmp_path / "s.json", tiktok, max_concurrent_requests=1)
    events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(3)])
    out = tmp_path / "out.jsonl"
    assert run_cli("send", "--settings", settings, events, "--outcomes", str(out)).returncode == 0
    text = out.read_text(encoding="utf-8")
    cut = text[: len(text) - 20]  # the last record (line 3 delivered) cut mid-record
    out.write_text(cut, encoding="utf-8")
    again = resume(settings, events, str(out))
    assert again.returncode == 0, again.stderr
    lines = out.read_text(encoding="utf-8").split("\n")
    assert lines[: cut.count("\n") + 1] == cut.split("\n")  # the cut line stays as it was
    appended = [json.loads(line) for line in lines[cut.count("\n") + 1 : -1]]  # each whole
    assert [(r["line"], r["status"]) for r in appended] == [(3, "sending"), (3, "delivered")]


def records_with_lines(path: Path, lines: list[int]) -> None:
    path.write_text(
        "".join(
            json.dumps({"line": n, "line_hash": "00" * 8, "status": "delivered"}) + "\n"
            for n in lines
        ),
        encoding="utf-8",
    )


def peak_of_reading(path: Path) -> tuple[Finished, int]:
    """What ``read_finished`` makes of ``path`` and the peak of memory it took (bytes)."""
    with path.open("rb") as stream:
        tracemalloc.start()
        try:
            finished = read_finished(stream)
            _now, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return finished, peak


def test_resume_memory_grows_with_the_records_not_with_the_largest_line(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    records_with_lines(path, [1, 10**9, 10**15, MAX_LINE])
    finished, peak = peak_of_reading(path)
    assert peak < 64 * 1024  # a bitmap up to line 10**9 took 1 GB
    assert finished.unreadable == 0
    assert finished.lookup(10**9, "00" * 8) == "delivered"
    assert finished.lookup(MAX_LINE, "00" * 8) == "delivered"
    assert finished.lookup(10**9 + 1, "00" * 8) is None


def test_lines_no_input_can_have_are_damage_and_cost_nothing(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    huge = [10**4000 + n * 10**3000 for n in range(1000)]  # as many digits as JSON allows
    records_with_lines(path, [MAX_LINE + 1, 0, -5, *huge])
    finished, peak = peak_of_reading(path)
    assert finished.unreadable == 1003 and not finished
    assert peak < 256 * 1024  # kept, they took ~2.5 KB each


def test_damaged_records_are_reported_and_their_lines_sent(
    tmp_path: Path, tiktok: FakeTikTok
) -> None:
    settings = write_settings(tmp_path / "s.json", tiktok)
    events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(2)])
    out = tmp_path / "out.jsonl"
    out.write_text(
        '{"line": 1, "status": "delivered"}\n'  # an older version's record: no line_hash
        '{"line": true, "status": "delivered"}\n[1]\n{"line": 1.5}\n\n',
        encoding="utf-8",
    )
    again = resume(settings, events, str(out))
    assert again.returncode == 0, again.stderr
    assert f"warning: 3 records of {out} could not be read (damaged)" in again.stderr
    assert "differ" not in again.stderr  # no hash recorded: nothing to compare, just sent
    assert sorted(tiktok.event_ids) == ["order-0", "order-1"]


def test_a_record_of_a_line_finished_with_other_content_is_changed(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    records_with_lines(path, [7])
    finished, _peak = peak_of_reading(path)
    assert finished.lookup(7, "00" * 8) == "delivered"
    assert finished.lookup(7, "00" * 7 + "01") == CHANGED
    assert finished.lookup(7, None) == CHANGED
    assert finished.lookup(8, "00" * 8) is None
