"""``tiktok-destination send`` against the fake TikTok server: outcomes, exit codes, dry run,
the token's precedence, the files it refuses, a full disk, the progress bar."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from support.cli_helpers import (
    WAIT_S,
    cli_command,
    final,
    no_traceback,
    on_a_terminal,
    purchase,
    read_outcomes,
    run_cli,
    start_cli,
    write_events,
    write_settings,
)
from support.helpers import TOKEN
from support.tiktok_server import BodyCode, FakeTikTok, HttpStatus

from tiktok_destination.cli.event_files import read_lines
from tiktok_destination.cli.host import plugin_manager
from tiktok_destination.cli.main import main
from tiktok_destination.cli.outcome_log import OutcomeLog
from tiktok_destination.cli.send_input import chunked
from tiktok_destination.cli.send_run import SendRun


def send(settings: str, events: str, *extra: str) -> list[str]:
    return ["send", "--settings", settings, events, *extra]


def test_send_delivers_and_records_every_event(
    tmp_path: Path, tiktok: FakeTikTok, capsys: pytest.CaptureFixture[str]
) -> None:
    events = [purchase(n) for n in range(25)] + ["{broken", {"event_name": "login", "id": "L"}]
    settings = write_settings(tmp_path / "s.json", tiktok, batch_size=10)
    out = tmp_path / "out.jsonl"
    code = main(send(settings, write_events(tmp_path / "e.jsonl", events), "--outcomes", str(out)))
    assert code == 3  # nothing failed; a broken line needs fixing
    records = read_outcomes(out)
    outcomes = final(records)
    assert sorted(outcomes) == list(range(1, 28))
    by_status: dict[str, list[dict[str, Any]]] = {}
    for record in outcomes.values():
        by_status.setdefault(record["status"], []).append(record)
    assert len(by_status["delivered"]) == 25
    assert [(r["line"], r["event_id"]) for r in by_status["invalid"]] == [(26, None)]
    assert [(r["line"], r["event_id"]) for r in by_status["skipped"]] == [(27, "L")]
    assert sorted(tiktok.event_ids) == sorted(f"order-{n}" for n in range(25))
    # Requests go side by side (max_concurrent_requests): their order on the wire is not fixed.
    assert sorted(len(request.event_ids) for request in tiktok.requests) == [5, 10, 10]
    assert all(r["request_id"] for r in by_status["delivered"])
    err = capsys.readouterr().err
    assert "delivered 25" in err and "invalid 1" in err and "skipped 1" in err
    assert f"access token: access_token in {settings}" in err
    assert TOKEN not in err


def test_each_event_posted_is_recorded_as_sending_before_its_outcome(
    tmp_path: Path, tiktok: FakeTikTok
) -> None:
    # One buffer in flight at a time: the order below (test_cli_concurrency has several).
    settings = write_settings(tmp_path / "s.json", tiktok, batch_size=2, max_concurrent_requests=1)
    events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(3)])
    out = tmp_path / "out.jsonl"
    assert main(send(settings, events, "--outcomes", str(out))) == 0
    records = [(r["line"], r["status"]) for r in read_outcomes(out)]
    assert records == [
        (1, "sending"),
        (2, "sending"),
        (1, "delivered"),
        (2, "delivered"),
        (3, "sending"),
        (3, "delivered"),
    ]


@pytest.mark.parametrize(
    ("events", "fault", "code"),
    [
        ([purchase(0), purchase(1)], None, 0),
        ([purchase(0), {"event_name": "newsletter_open", "id": "n"}], None, 0),  # skipped
        ([purchase(0), "{broken"], None, 3),
        ([purchase(0), purchase(1)], "reject order-1", 3),
        ([purchase(0), "{broken"], "fail", 1),
    ],
    ids=["delivered", "skipped", "invalid", "rejected", "failed"],
)
def test_exit_codes_a_scheduler_can_act_on(
    tmp_path: Path, tiktok: FakeTikTok, events: list[Any], fault: str | None, code: int
) -> None:
    if fault == "reject order-1":
        tiktok.bad_event_ids.add("order-1")
    if fault == "fail":
        tiktok.fail_next(HttpStatus(503))
    settings = write_settings(tmp_path / "s.json", tiktok, max_retries=0)
    done = run_cli(*send(settings, write_events(tmp_path / "e.jsonl", events)))
    assert done.returncode == code, done.stderr
    assert no_traceback(done.stderr)


def test_usage_errors_exit_2_in_one_line(tmp_path: Path, tiktok: FakeTikTok) -> None:
    settings = write_settings(tmp_path / "s.json", tiktok)
    events = write_events(tmp_path / "e.jsonl", [purchase(0)])
    cases = {
        "--resume needs --outcomes": send(settings, events, "--resume"),
        "cannot write (No such file or directory)": send(
            settings, events, "--outcomes", str(tmp_path / "no" / "dir" / "out.jsonl")
        ),
        "invalid settings": send(
            write_settings(tmp_path / "bad.json", tiktok, batch_size=0), events
        ),
    }
    for problem, argv in cases.items():
        done = run_cli(*argv)
        assert done.returncode == 2, (problem, done.stderr)
        assert problem in done.stderr and no_traceback(done.stderr)
    assert tiktok.requests == []


def test_outcomes_naming_an_input_is_refused_before_touching_it(
    tmp_path: Path, tiktok: FakeTikTok
) -> None:
    settings = write_settings(tmp_path / "s.json", tiktok)
    events = write_events(tmp_path / "e.jsonl", [purchase(0)])
    before = Path(events).read_bytes(), Path(settings).read_bytes()
    for target in (events, settings, str(tmp_path / "." / "e.jsonl")):
        done = run_cli(*send(settings, events, "--outcomes", target))
        assert done.returncode == 2 and "that is an input of this command" in done.stderr
    with Path(events).open("rb") as stdin:  # the events on stdin, from the same file
        piped = subprocess.run(
            cli_command(*send(settings, "-", "--outcomes", events)),
            stdin=stdin,
            capture_output=True,
            timeout=WAIT_S,
            check=False,
        )
    assert piped.returncode == 2
    assert (Path(events).read_bytes(), Path(settings).read_bytes()) == before
    assert tiktok.requests == []


def test_the_environment_token_wins_over_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeTikTok("the-environment-token") as strict:
        settings = write_settings(tmp_path / "s.json", strict)  # the file holds TOKEN
        events = write_events(tmp_path / "e.jsonl", [purchase(0)])
        monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", "the-environment-token")
        assert main(send(settings, events)) == 0
        assert strict.event_ids == ["order-0"]
    err = capsys.readouterr().err
    assert f"access token: TIKTOK_ACCESS_TOKEN (it overrides access_token in {settings})" in err
    assert "the-environment-token" not in err and TOKEN not in err


def test_send_needs_a_token_but_a_dry_run_does_not(
    tmp_path: Path, tiktok: FakeTikTok, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TIKTOK_ACCESS_TOKEN", raising=False)
    settings = tmp_path / "s.json"
    settings.write_text(json.dumps({"pixel_id": "PIXEL", "api_url": tiktok.url}))
    events = write_events(tmp_path / "e.jsonl", [purchase(0)])
    done = run_cli(*send(str(settings), events))
    assert done.returncode == 2 and "no access token" in done.stderr
    dry = run_cli(*send(str(settings), events, "--dry-run"))
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["json"]["data"][0]["event_id"] == "order-0"
    assert tiktok.requests == []


def test_rejected_events_are_named_and_the_rest_delivered(
    tmp_path: Path, tiktok: FakeTikTok
) -> None:
    tiktok.bad_event_ids.add("order-3")
    settings = write_settings(tmp_path / "s.json", tiktok)
    events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(8)])
    out = tmp_path / "out.jsonl"
    assert main(send(settings, events, "--outcomes", str(out))) == 3
    rejected = [r for r in final(read_outcomes(out)).values() if r["status"] == "rejected"]
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
    assert main(send(settings, events, "--outcomes", str(out))) == 4  # refused configuration
    records = final(read_outcomes(out))
    assert [r["status"] for r in records.values()] == ["failed"] * 12
    assert "access_token" in records[1]["message"]
    assert len(tiktok.requests) == 1  # stopped at once: no request after the refusal
    captured = capsys.readouterr()
    assert TOKEN not in captured.out + captured.err + out.read_text()


def test_dry_run_prints_requests_records_every_event_and_sends_nothing(
    tmp_path: Path, tiktok: FakeTikTok, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = write_settings(tmp_path / "s.json", tiktok, batch_size=2)
    lines = [purchase(n) for n in range(3)] + [b'{"event_name": "search", "id": "\\udfff"}']
    events = write_events(tmp_path / "e.jsonl", lines)
    out = tmp_path / "out.jsonl"
    assert main(send(settings, events, "--dry-run", "--outcomes", str(out))) == 3
    captured = capsys.readouterr()
    requests = [json.loads(line) for line in captured.out.splitlines()]
    assert [len(r["json"]["data"]) for r in requests] == [2, 1]
    assert requests[0]["headers"]["Access-Token"] == "<redacted>"
    assert requests[0]["url"] == tiktok.url
    assert tiktok.requests == []
    assert TOKEN not in captured.out + captured.err
    records = sorted(read_outcomes(out), key=lambda r: int(r["line"]))
    assert [(r["line"], r["status"]) for r in records] == [
        (1, "ok"),
        (2, "ok"),
        (3, "ok"),
        (4, "invalid"),
    ]
    assert "lone surrogate" in records[3]["message"]


def test_test_event_code_warns_and_sends_one_event_per_request(
    tmp_path: Path, tiktok: FakeTikTok, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = write_settings(tmp_path / "s.json", tiktok, test_event_code="TEST123")
    events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(3)])
    assert main(send(settings, events)) == 0
    assert "does not save them" in capsys.readouterr().err
    assert [len(r.event_ids) for r in tiktok.requests] == [1, 1, 1]
    assert {e["test_event_code"] for e in tiktok.events} == {"TEST123"}


def test_bad_lines_never_stop_a_send(tmp_path: Path, tiktok: FakeTikTok) -> None:
    lines: list[Any] = [
        purchase(0),
        b'{"event_name": "purchase", "id": "\xff\xfe"}',
        b"[" * 50_000 + b"]" * 50_000,
        purchase(1),
        b'{"event_name": "purchase", "id": "x-\\ud800", "currency": "EUR", "value": 1}',
        purchase(2),
    ]
    settings = write_settings(tmp_path / "s.json", tiktok)
    out = tmp_path / "out.jsonl"
    done = run_cli(
        *send(settings, write_events(tmp_path / "e.jsonl", lines), "--outcomes", str(out))
    )
    assert done.returncode == 3 and no_traceback(done.stderr), done.stderr
    outcomes = final(read_outcomes(out))
    assert {line: r["status"] for line, r in outcomes.items()} == {
        1: "delivered",
        2: "invalid",
        3: "invalid",
        4: "delivered",
        5: "invalid",
        6: "delivered",
    }
    assert sorted(tiktok.event_ids) == ["order-0", "order-1", "order-2"]


def with_file_size_limit(argv: list[str], limit: int) -> subprocess.CompletedProcess[str]:
    """Run the command with files it writes limited to ``limit`` bytes (``RLIMIT_FSIZE``): a
    disk that fills up, as far as the command can tell (its writes fail, no signal kills it)."""
    limited = [
        sys.executable,
        "-c",
        "import os, resource, sys; "
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit})); "
        "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])",
        *cli_command(*argv)[1:],
    ]
    return subprocess.run(limited, capture_output=True, text=True, timeout=WAIT_S, check=False)


def test_a_full_disk_stops_with_one_line_and_a_summary(tmp_path: Path, tiktok: FakeTikTok) -> None:
    settings = write_settings(tmp_path / "s.json", tiktok)
    events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(3)])
    out = tmp_path / "out.jsonl"
    done = with_file_size_limit(send(settings, events, "--outcomes", str(out)), 1)
    assert done.returncode == 1 and no_traceback(done.stderr), done.stderr
    assert (
        f"tiktok-destination: cannot write the outcomes to {out} (File too large); stopped"
    ) in done.stderr
    assert "read 3: ok 3" in done.stderr  # the summary
    assert tiktok.requests == []  # nothing is posted that could not be recorded first
    assert out.read_bytes() == b""  # the byte written of the first record is cut off again


def test_a_file_size_limit_leaves_no_half_written_record(
    tmp_path: Path, tiktok: FakeTikTok
) -> None:
    """The file stops growing mid-record (``RLIMIT_FSIZE``): the record part is cut off."""
    settings = write_settings(tmp_path / "s.json", tiktok, batch_size=5)
    events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(40)])
    out = tmp_path / "out.jsonl"
    limit = 3000  # a few batches' records, cut mid-line
    done = with_file_size_limit(send(settings, events, "--outcomes", str(out)), limit)
    assert done.returncode == 1 and no_traceback(done.stderr), done.stderr
    assert "cannot write the outcomes" in done.stderr and "File too large" in done.stderr
    text = out.read_text()
    assert 0 < len(text) <= limit and text.endswith("\n")
    records = read_outcomes(out)  # every line is a whole record
    sent = {r["event_id"] for r in records if r["status"] == "sending"}
    assert set(tiktok.event_ids) <= sent  # nothing reached TikTok unannounced


def test_a_terminal_shows_a_progress_bar_with_total_percent_and_eta(tmp_path: Path) -> None:
    # Answers that take 0.3 s make the run last seconds however fast the transform is (a run
    # over before the bar's first redraw, 0.2 s in, showed only "0%").
    with FakeTikTok(TOKEN, latency_s=0.3) as tiktok:
        settings = write_settings(tmp_path / "s.json", tiktok, batch_size=100)
        events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(3000)])
        shown = on_a_terminal(send(settings, events), columns=80)
        plain = run_cli(*send(settings, events))
    bars = [line for line in shown.split("\r") if "%|" in line]
    assert bars, shown
    assert all("ETA" in bar and "failed" in bar for bar in bars)
    assert all(len(bar) <= 80 for bar in bars)
    assert any(bar.split("%")[0].strip() not in ("0", "") for bar in bars)  # it moved on
    assert "read 3,000: ok 3,000" in shown and TOKEN not in shown
    assert plain.returncode == 0 and "\r" not in plain.stderr  # no bar off a terminal


def test_a_quiet_stream_on_stdin_still_delivers(tmp_path: Path, tiktok: FakeTikTok) -> None:
    settings = write_settings(tmp_path / "s.json", tiktok)  # batch_size 1000: never full here
    process = start_cli(*send(settings, "-"), stdin=subprocess.PIPE)
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
    assert process.wait(timeout=WAIT_S) == 0
    assert sorted(tiktok.event_ids)[-1] == "order-3"


class SurrogateHook:
    """The real hooks, but the transform of event ``bad`` puts a lone surrogate in its payload
    (a Python host can hand over such a string; no UTF-8 JSON can carry it)."""

    def __init__(self) -> None:
        self.real = plugin_manager().hook

    def cdp_destination_transform(self, **kwargs: Any) -> Any:
        outcome = self.real.cdp_destination_transform(**kwargs)
        if kwargs["event"]["id"] == "bad":
            outcome["payload"]["data"][0]["event_id"] = "bad-\ud800"
        return outcome

    def cdp_destination_transform_batch(self, **kwargs: Any) -> Any:
        outcomes = self.real.cdp_destination_transform_batch(**kwargs)
        for event, outcome in zip(kwargs["events"], outcomes, strict=True):
            if event["id"] == "bad":
                outcome["payload"]["data"][0]["event_id"] = "bad-\ud800"
        return outcomes


def test_a_dry_run_never_drops_a_payload_silently(tmp_path: Path, tiktok: FakeTikTok) -> None:
    settings = {"access_token": TOKEN, "pixel_id": "PIXEL", "api_url": tiktok.url}
    events = Path(write_events(tmp_path / "e.jsonl", [purchase(0), {**purchase(1), "id": "bad"}]))
    out = tmp_path / "out.jsonl"
    log = OutcomeLog(str(out), append=False)
    shown = io.StringIO()
    run = SendRun(
        SurrogateHook(), settings, outcomes=log, dry_run=True, out=shown, err=io.StringIO()
    )
    with events.open("rb") as stream:
        assert run.run(chunked(read_lines(stream))) is True
    log.close()
    assert [(r["line"], r["status"]) for r in read_outcomes(out)] == [(1, "ok"), (2, "rejected")]
    assert "not valid JSON" in read_outcomes(out)[1]["message"]
    assert run.counts["rejected"] == 1
    requests = [json.loads(line) for line in shown.getvalue().splitlines()]
    assert [e["event_id"] for r in requests for e in r["json"]["data"]] == ["order-0"]


@pytest.mark.parametrize("resume", [False, True])
@pytest.mark.parametrize("kind", ["fifo", "directory", "device"])
def test_an_outcomes_path_that_is_not_a_regular_file_is_refused_at_once(
    tmp_path: Path, tiktok: FakeTikTok, kind: str, resume: bool
) -> None:
    settings = write_settings(tmp_path / "s.json", tiktok)
    events = write_events(tmp_path / "e.jsonl", [purchase(0)])
    target = {"fifo": tmp_path / "out.pipe", "directory": tmp_path, "device": Path("/dev/full")}[
        kind
    ]
    if kind == "fifo":
        os.mkfifo(target)  # nobody reads it: opening it to write would block
    argv = cli_command(*send(settings, events, "--outcomes", str(target)))
    argv += ["--resume"] if resume else []
    done = subprocess.run(argv, capture_output=True, text=True, timeout=WAIT_S, check=False)
    assert done.returncode == 2 and no_traceback(done.stderr), done.stderr
    assert done.stderr.splitlines()[-1] == (
        f"tiktok-destination: --outcomes {target}: not a regular file (a FIFO, a directory or "
        "a device); name a file"
    )
    assert tiktok.requests == []
