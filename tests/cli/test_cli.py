"""The command line: schema, check-settings, transform, --version, errors without tracebacks."""

from __future__ import annotations

import argparse
import io
import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from support.cli_helpers import ROOT, WAIT_S, no_traceback, read_line, run_cli, start_cli
from support.helpers import README, doc, readme_table

from tiktok_destination import __version__, settings, variant
from tiktok_destination.cli.main import main


def write(path: Path, value: Any) -> str:
    path.write_text(value if isinstance(value, str) else json.dumps(value), encoding="utf-8")
    return str(path)


@pytest.fixture
def settings_file(tmp_path: Path) -> str:
    return write(tmp_path / "settings.json", {"access_token": "cli-token", "pixel_id": "PIXEL"})


def outcomes(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_schema_prints_the_settings_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == settings.schema()


def test_version() -> None:
    done = run_cli("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"tiktok-destination {__version__} ({variant.describe()})"


def test_check_settings(
    tmp_path: Path, settings_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-settings", settings_file]) == 0
    bad = write(tmp_path / "bad.json", {"access_token": "t", "batch_size": 5000, "colour": "red"})
    assert main(["check-settings", bad]) == 2
    err = capsys.readouterr().err
    assert "batch_size:" in err and "colour: unknown key" in err and "pixel_id:" in err
    assert main(["check-settings", str(tmp_path / "missing.json")]) == 2
    assert main(["check-settings", write(tmp_path / "broken.json", "{nope")]) == 2


def test_a_settings_file_may_name_its_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with_schema = {"$schema": "../schemas/settings.schema.json", "pixel_id": "PIXEL"}
    assert main(["check-settings", write(tmp_path / "s.json", with_schema)]) == 0
    assert "settings are valid" in capsys.readouterr().err


def test_without_a_token_commands_that_send_nothing_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TIKTOK_ACCESS_TOKEN", raising=False)
    no_token = write(tmp_path / "s.json", {"pixel_id": "PIXEL"})
    assert main(["check-settings", no_token]) == 0
    assert "no access token" in capsys.readouterr().err
    events = write(tmp_path / "e.jsonl", json.dumps({"event_name": "search", "id": "s"}) + "\n")
    assert main(["transform", "--settings", no_token, events]) == 0
    assert outcomes(capsys.readouterr().out)[0]["status"] == "ok"
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", "env-token")
    assert main(["check-settings", no_token]) == 0
    assert "access token: TIKTOK_ACCESS_TOKEN" in capsys.readouterr().err


def test_transform_outcomes_carry_their_line_and_event_id(
    tmp_path: Path, settings_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        json.dumps(
            {"event_name": "purchase", "id": "A", "context": {"event_timestamp": 1700000000}}
        ),
        "not json at all",
        "",
        json.dumps(["an", "array"]),
        "   ",
        json.dumps({"event_name": "login", "context": {"event_id": "L"}}),
        json.dumps({"event_name": "search", "id": "B"}),
        json.dumps({"event_name": "purchase", "id": "C", "context": {"event_timestamp": "no"}}),
    ]
    events = write(tmp_path / "events.jsonl", "\n".join(lines) + "\n")
    assert main(["transform", "--settings", settings_file, events]) == 0
    got = outcomes(capsys.readouterr().out)
    assert [(o["line"], o["event_id"], o["status"]) for o in got] == [
        (1, "A", "ok"),
        (2, None, "invalid"),
        (4, None, "invalid"),
        (6, "L", "skipped"),
        (7, "B", "ok"),
        (8, "C", "invalid"),
    ]
    assert got[1]["error"].startswith("line 2: not JSON")
    assert got[2]["error"].startswith("event:")
    assert main(["transform", "--strict", "--settings", settings_file, events]) == 1
    capsys.readouterr()
    clean = write(tmp_path / "clean.jsonl", lines[0] + "\n")
    assert main(["transform", "--strict", "--settings", settings_file, clean]) == 0


def test_transform_a_json_array_from_stdin(
    settings_file: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    events = [{"event_name": "add_to_cart", "id": str(n)} for n in range(3)]
    stdin = io.TextIOWrapper(io.BytesIO(json.dumps(events, indent=2).encode()))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(["transform", "--settings", settings_file, "-"]) == 0
    got = outcomes(capsys.readouterr().out)
    assert [(o["line"], o["payload"]["data"][0]["event_id"]) for o in got] == [
        (1, "0"),
        (2, "1"),
        (3, "2"),
    ]


BAD_LINES = [
    (b'{"event_name": "search", "id": "bad-\xff-utf8"}', "not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "nested deeper than the JSON parser allows"),
    (b'{"event_name": "search", "id": "lone-\\ud800"}', "lone surrogate (\\ud800)"),
    (b'{"event_name": "search", "id": "' + b"9" * 5000 + b'", "n": ' + b"9" * 5000 + b"}", "4300"),
]


@pytest.mark.parametrize(("line", "problem"), BAD_LINES, ids=["utf8", "deep", "surrogate", "int"])
def test_a_bad_line_is_invalid_and_the_run_goes_on(
    tmp_path: Path, settings_file: str, line: bytes, problem: str
) -> None:
    good = [json.dumps({"event_name": "search", "id": f"s{n}"}).encode() for n in range(2)]
    events = tmp_path / "e.jsonl"
    events.write_bytes(b"\n".join([good[0], line, good[1]]) + b"\n")
    done = run_cli("transform", "--settings", settings_file, str(events))
    assert done.returncode == 0 and no_traceback(done.stderr), done.stderr
    got = outcomes(done.stdout)
    assert [(o["line"], o["status"]) for o in got] == [(1, "ok"), (2, "invalid"), (3, "ok")]
    assert got[1]["error"].startswith("line 2: ") and problem in got[1]["error"]


@pytest.mark.parametrize(("line", "problem"), BAD_LINES, ids=["utf8", "deep", "surrogate", "int"])
def test_a_bad_element_of_an_array_is_invalid_and_the_run_goes_on(
    tmp_path: Path, settings_file: str, line: bytes, problem: str
) -> None:
    good = [json.dumps({"event_name": "search", "id": f"s{n}"}).encode() for n in range(2)]
    events = tmp_path / "e.json"
    events.write_bytes(b"[" + b",\n".join([good[0], line, good[1]]) + b"]")
    done = run_cli("transform", "--settings", settings_file, str(events))
    assert no_traceback(done.stderr), done.stderr
    got = outcomes(done.stdout)
    assert [(o["line"], o["status"]) for o in got] == [(1, "ok"), (2, "invalid"), (3, "ok")]
    assert got[1]["error"].startswith("element 2: ") and problem in got[1]["error"]


def transform_on_stdin(settings_file: str) -> subprocess.Popen[str]:
    """``transform`` reading stdin, its stdout unbuffered: one outcome line per line written."""
    return start_cli(
        "transform",
        "--settings",
        settings_file,
        "-",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={"PYTHONUNBUFFERED": "1"},
    )


def test_a_json_array_is_read_as_a_stream(tmp_path: Path, settings_file: str) -> None:
    """The first element's outcome comes out before the array is even closed."""
    process = transform_on_stdin(settings_file)
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write('[\n  {"event_name": "search", "id": "first"},\n')
        process.stdin.flush()
        first = json.loads(read_line(process.stdout))
        assert (first["line"], first["event_id"], first["status"]) == (1, "first", "ok")
        process.stdin.write('  {"event_name": "search", "id": "second"}\n]\n')
        process.stdin.close()
        second = json.loads(read_line(process.stdout))
        assert (second["line"], second["event_id"]) == (2, "second")
        assert process.wait(timeout=WAIT_S) == 0
    finally:
        process.kill()
        process.wait(timeout=WAIT_S)


def test_transform_with_bad_settings_stops_before_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path / "bad.json", {"access_token": "t", "pixel_id": "P", "batch_size": 0})
    assert main(["transform", "--settings", bad, str(ROOT / "examples/events.jsonl")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "batch_size" in captured.err


def test_a_missing_events_file_is_one_line_and_exit_2(tmp_path: Path, settings_file: str) -> None:
    missing = tmp_path / "nope.jsonl"
    for command in ("transform", "send", "report"):
        done = run_cli(command, "--settings", settings_file, str(missing))
        assert done.returncode == 2, (command, done.stderr)
        assert no_traceback(done.stderr)
        assert done.stderr.splitlines()[-1] == (
            f"tiktok-destination: {missing}: cannot read events (No such file or directory)"
        )


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_stopping_transform_is_one_line(settings_file: str, signum: int, code: int) -> None:
    process = transform_on_stdin(settings_file)
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(json.dumps({"event_name": "search", "id": "x"}) + "\n")
        process.stdin.flush()
        assert json.loads(read_line(process.stdout))["status"] == "ok"  # it is running
        process.send_signal(signum)
        assert process.wait(timeout=WAIT_S) == code
        assert process.stderr is not None
        assert process.stderr.read().strip() == "tiktok-destination: interrupted"
    finally:
        process.kill()
        process.wait(timeout=WAIT_S)


def test_the_shipped_example_runs_as_the_readme_says(output_schema: Draft202012Validator) -> None:
    assert "access_token" not in json.loads((ROOT / "examples/settings.json").read_text())
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tiktok_destination",
            "transform",
            "--settings",
            "examples/settings.json",
            "examples/events.jsonl",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=WAIT_S,
    )
    got = outcomes(done.stdout)
    input_lines = [
        line for line in (ROOT / "examples/events.jsonl").read_text().splitlines() if line
    ]
    assert len(got) == len(input_lines)
    statuses = [o["status"] for o in got]
    assert statuses.count("ok") >= 7 and "skipped" in statuses and "invalid" in statuses
    assert done.returncode == 0, done.stderr  # invalid lines are outcomes, not a failed run
    for outcome in got:
        if outcome["status"] == "ok":
            output_schema.validate(outcome["payload"])
    assert "jane.doe@example.com" not in done.stdout.lower()


def test_the_readme_names_every_command_and_exit_code() -> None:
    from tiktok_destination.cli import exits
    from tiktok_destination.cli.main import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for page in (README, doc("command-line")):
        names = [row[0].split()[0] for row in readme_table("command", page)]
        assert names == list(commands.choices)
    codes = sorted(getattr(exits, name) for name in dir(exits) if name.startswith("EXIT_"))
    assert [int(row[0]) for row in readme_table("exit", doc("command-line"))] == codes


def test_skip_reasons_give_hints_that_help(
    tmp_path: Path, settings_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        {"event_name": "launch_app", "id": "a"},  # an app event read as web
        {"event_name": "purchse", "id": "p"},  # a typo
        {"event_name": "newsletter_open", "id": "n"},  # nothing close
    ]
    events = write(tmp_path / "e.jsonl", "\n".join(json.dumps(line) for line in lines) + "\n")
    assert main(["transform", "--settings", settings_file, events]) == 0
    reasons = [o["reason"] for o in outcomes(capsys.readouterr().out)]
    assert "app event" in reasons[0] and "autodiscover_event_source" in reasons[0]
    assert "(did you mean 'purchase'?)" in reasons[1]
    assert "did you mean" not in reasons[2]


def test_a_connection_error_names_host_and_port(tmp_path: Path) -> None:
    import socket

    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    settings = write(
        tmp_path / "s.json",
        {
            "access_token": "t",
            "pixel_id": "P",
            "api_url": f"http://127.0.0.1:{port}/x",
            "max_retries": 0,
        },
    )
    events = write(tmp_path / "e.jsonl", json.dumps({"event_name": "search", "id": "s"}) + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["send", "--settings", settings, events, "--outcomes", str(out)]) == 1
    failed = [json.loads(line) for line in out.read_text().splitlines()][-1]
    assert failed["status"] == "failed" and f"127.0.0.1:{port}" in failed["message"]


def test_messages_use_json_words(
    tmp_path: Path, settings_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = {"pixel_id": None, "batch_size": True, "lowercase_user_id": None, "timeout_s": False}
    assert main(["check-settings", write(tmp_path / "bad.json", bad)]) == 2
    err = capsys.readouterr().err
    assert "pixel_id: expected a string, got null" in err
    assert "batch_size: expected a whole number, got true" in err
    lines = [{"event_name": "purchase", "value": True}, {"event_name": "purchase", "items": [None]}]
    events = write(tmp_path / "e.jsonl", "\n".join(json.dumps(line) for line in lines) + "\n")
    assert main(["transform", "--settings", settings_file, events]) == 0
    out = capsys.readouterr().out
    assert "got true" in out and "got null" in out
    for python_word in ("None", "True", "False", "NoneType", "got bool", "got list"):
        assert python_word not in err + out


def test_transform_never_prints_a_payload_json_cannot_carry(
    tmp_path: Path,
    settings_file: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from types import SimpleNamespace

    from test_cli_send import SurrogateHook

    import tiktok_destination.cli.main as cli

    monkeypatch.setattr(cli, "plugin_manager", lambda: SimpleNamespace(hook=SurrogateHook()))
    lines = [{"event_name": "search", "id": "good"}, {"event_name": "search", "id": "bad"}]
    events = write(tmp_path / "e.jsonl", "\n".join(json.dumps(line) for line in lines) + "\n")
    assert main(["transform", "--settings", settings_file, events]) == 0
    got = outcomes(capsys.readouterr().out)
    assert [(o["line"], o["status"]) for o in got] == [(1, "ok"), (2, "invalid")]
    assert "cannot be written as UTF-8 JSON" in got[1]["error"] and "payload" not in got[1]
