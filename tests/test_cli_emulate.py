"""``tiktok-destination emulate``, used as a user would: started as a subprocess, sent to by
``send``, asked for its events, stopped by SIGTERM; and the README's walkthrough, as written."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import ROOT, WAIT_S, cli_command, purchase, run_cli, write_events

from tiktok_destination.emulator import PATH


class Emulator:
    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process = process
        self.url = url

    def post(self, body: bytes, token: str | None = "any-token") -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Access-Token"] = token
        request = urllib.request.Request(self.url + PATH, body, headers, method="POST")
        with urllib.request.urlopen(request, timeout=WAIT_S) as answer:
            assert answer.status == 200
            result: dict[str, Any] = json.loads(answer.read())
            return result

    def events(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(self.url + "/events", timeout=WAIT_S) as answer:
            return [json.loads(line) for line in answer.read().decode().splitlines()]


def start_emulator(*options: str) -> Emulator:
    process = subprocess.Popen(
        cli_command("emulate", *options),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], WAIT_S)
    assert ready, "the emulator printed no URL"
    url = process.stdout.readline().strip()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), url
    return Emulator(process, url)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    emulated = start_emulator()
    yield emulated
    emulated.process.kill()
    emulated.process.wait(timeout=WAIT_S)


def settings_for(path: Path, emulated: Emulator) -> str:
    path.write_text(json.dumps({"pixel_id": "LOCAL", "api_url": emulated.url + PATH}))
    return str(path)


def test_sending_a_file_twice_keeps_each_event_once(tmp_path: Path, emulator: Emulator) -> None:
    settings = settings_for(tmp_path / "s.json", emulator)
    events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(5)])
    for _ in range(2):
        done = run_cli("send", "--settings", settings, events, TIKTOK_ACCESS_TOKEN="t")
        assert done.returncode == 0, done.stderr
    kept = emulator.events()
    assert sorted(e["event_id"] for e in kept) == [f"order-{n}" for n in range(5)]
    assert {(e["event_source"], e["event_source_id"], e["event"]) for e in kept} == {
        ("web", "LOCAL", "CompletePayment")
    }


def test_a_broken_body_gets_40002_naming_the_path(emulator: Emulator) -> None:
    event = {"event": "X", "event_id": "e1", "event_time": "yesterday"}
    body = {"event_source": "web", "event_source_id": "P", "data": [event]}
    answer = emulator.post(json.dumps(body).encode())
    assert answer["code"] == 40002 and answer["message"].startswith("data.0.event_time: ")
    assert answer["request_id"] and answer["data"] == {}
    assert emulator.post(b"{not json")["code"] == 40002
    assert emulator.events() == []


def test_a_request_without_the_token_is_refused() -> None:
    emulated = start_emulator("--token", "the-token")
    try:
        good = {
            "event_source": "web",
            "event_source_id": "P",
            "data": [{"event": "Search", "event_time": 1700000000, "event_id": "s"}],
        }
        raw = json.dumps(good).encode()
        assert emulated.post(raw, token=None)["code"] == 40105
        assert emulated.post(raw, token="another")["code"] == 40105
        assert emulated.post(raw, token="the-token")["code"] == 0
        assert [e["event_id"] for e in emulated.events()] == ["s"]
    finally:
        emulated.process.kill()
        emulated.process.wait(timeout=WAIT_S)


def test_sigterm_stops_it(emulator: Emulator) -> None:
    emulator.process.send_signal(signal.SIGTERM)
    assert emulator.process.wait(timeout=WAIT_S) == 0
    assert emulator.process.stderr is not None
    assert "emulator stopped: 0 events kept" in emulator.process.stderr.read()


def test_injected_faults_are_retried_through(tmp_path: Path) -> None:
    emulated = start_emulator("--fail-every", "2")
    try:
        settings = tmp_path / "s.json"
        settings.write_text(
            json.dumps({"pixel_id": "LOCAL", "api_url": emulated.url + PATH, "batch_size": 2})
        )
        events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(6)])
        done = run_cli("send", "--settings", str(settings), events, TIKTOK_ACCESS_TOKEN="t")
        assert done.returncode == 0, done.stderr
        assert Counter(e["event_id"] for e in emulated.events()) == Counter(
            f"order-{n}" for n in range(6)
        )
    finally:
        emulated.process.kill()
        emulated.process.wait(timeout=WAIT_S)


def test_the_readme_walkthrough_runs_as_written(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Test your pipeline locally", 1)[1]
    script = re.search(r"```sh\n(.*?)```", section, re.S)
    assert script is not None
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "events.jsonl").write_bytes(
        (ROOT / "examples/events.jsonl").read_bytes()
    )
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    done = subprocess.run(
        ["bash", "-c", script.group(1)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=WAIT_S * 2,
        env={**os.environ, "PATH": path},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    kept = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    ids = [e["event_id"] for e in kept]
    assert len(ids) == len(set(ids)) >= 5  # sent twice, kept once each
    outcomes = [json.loads(line) for line in (tmp_path / "outcomes.jsonl").read_text().splitlines()]
    assert {o["status"] for o in outcomes} >= {"delivered", "skipped", "invalid"}
