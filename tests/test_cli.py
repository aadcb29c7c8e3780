"""The command line: schema, check-settings and transform, run in-process on real files."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tiktok_destination import resources, settings
from tiktok_destination.cli import main

ROOT = Path(__file__).resolve().parents[1]
OUTPUT_SCHEMA = Draft202012Validator(resources.load_json("schemas/event-track-request.schema.json"))


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


def test_token_can_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_token = write(tmp_path / "s.json", {"pixel_id": "PIXEL"})
    assert main(["check-settings", no_token]) == 2
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", "env-token")
    assert main(["check-settings", no_token]) == 0


def test_transform_json_lines_one_outcome_per_line_in_order(
    tmp_path: Path, settings_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        json.dumps(
            {"event_name": "purchase", "id": "A", "context": {"event_timestamp": 1700000000}}
        ),
        "not json at all",
        "",
        json.dumps(["an", "array"]),
        json.dumps({"event_name": "login"}),
        json.dumps({"event_name": "search", "id": "B"}),
    ]
    events = write(tmp_path / "events.jsonl", "\n".join(lines) + "\n")
    assert main(["transform", "--settings", settings_file, events]) == 0
    got = outcomes(capsys.readouterr().out)
    assert [o["status"] for o in got] == ["ok", "invalid", "invalid", "skipped", "ok"]
    assert got[1]["error"].startswith("line 2: not JSON")
    assert got[2]["error"].startswith("event:")
    assert [o["payload"]["data"][0]["event_id"] for o in got if o["status"] == "ok"] == ["A", "B"]
    assert main(["transform", "--strict", "--settings", settings_file, events]) == 1
    capsys.readouterr()
    clean = write(tmp_path / "clean.jsonl", lines[0] + "\n")
    assert main(["transform", "--strict", "--settings", settings_file, clean]) == 0


def test_transform_a_json_array_from_stdin(
    settings_file: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    events = [{"event_name": "add_to_cart", "id": str(n)} for n in range(3)]
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(events, indent=2)))
    assert main(["transform", "--settings", settings_file, "-"]) == 0
    got = outcomes(capsys.readouterr().out)
    assert [o["payload"]["data"][0]["event_id"] for o in got] == ["0", "1", "2"]


def test_transform_with_bad_settings_stops_before_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path / "bad.json", {"access_token": "t", "pixel_id": "P", "batch_size": 0})
    assert main(["transform", "--settings", bad, str(ROOT / "examples/events.jsonl")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "batch_size" in captured.err


def test_the_shipped_example_runs_as_the_readme_says() -> None:
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
            OUTPUT_SCHEMA.validate(outcome["payload"])
    assert "jane.doe@example.com" not in done.stdout.lower()
    assert "replace-me" not in done.stdout + done.stderr
