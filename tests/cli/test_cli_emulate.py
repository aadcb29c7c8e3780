"""``tiktok-destination emulate``, used as a user would: started as a subprocess, sent to by
``send``, asked for its events, stopped by SIGTERM; and docs/command-line.md's walkthrough.
And as an attacker would, over raw sockets: lengths that lie, connections that say nothing,
more connections than it serves at once."""

from __future__ import annotations

import json
import re
import select
import signal
import socket
import subprocess
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.cli_helpers import (
    WAIT_S,
    cli_command,
    no_traceback,
    purchase,
    run_cli,
    write_events,
)

from tiktok_destination.cli.emulator import MAX_BODY_BYTES, MAX_CONNECTIONS, PATH

ANSWER_S = 10
"""Bound on the wait for an answer the emulator gives at once."""


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


def connect(emulated: Emulator) -> socket.socket:
    host, port = emulated.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=ANSWER_S)


def until_closed(connection: socket.socket, seconds: float = ANSWER_S) -> bytes:
    """What the emulator sends on ``connection`` until it closes it (``TimeoutError`` when it
    keeps it open longer than ``seconds``)."""
    received, deadline = b"", time.monotonic() + seconds
    while True:
        connection.settimeout(max(deadline - time.monotonic(), 0.001))
        piece = connection.recv(65536)
        if not piece:
            return received
        received += piece


def post_head(*headers: str) -> bytes:
    lines = [f"POST {PATH} HTTP/1.1", "Host: x", "Access-Token: t", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def stopped_stderr(emulated: Emulator) -> str:
    """What the emulator wrote on stderr, once killed (SIGKILL: ``test_sigterm_stops_it`` is
    about stopping; here only what was written counts)."""
    emulated.process.kill()
    _, stderr = emulated.process.communicate(timeout=WAIT_S)
    return stderr


@pytest.mark.parametrize(
    "lengths",
    [
        ["-1"],
        ["abc"],
        ["1e3"],
        ["+5"],
        ["0x10"],
        ["5 5"],
        ["²"],
        ["9" * 40],
        ["5", "6"],
        ["5, 6"],
        ["5", "-1"],
    ],
)
def test_a_bad_content_length_is_answered_400_at_once(
    emulator: Emulator, lengths: list[str]
) -> None:
    with connect(emulator) as connection:  # the body goes on and on: none of it may be awaited
        connection.sendall(post_head(*(f"Content-Length: {n}" for n in lengths)) + b"{" * 65536)
        answer = until_closed(connection)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), answer[:200]
    document = json.loads(body)
    assert document["code"] == 40002 and "Content-Length" in document["message"]
    assert no_traceback(stopped_stderr(emulator))


def test_a_chunked_body_is_answered_400(emulator: Emulator) -> None:
    with connect(emulator) as connection:
        connection.sendall(post_head("Transfer-Encoding: chunked") + b"ffffffff\r\n" + b"{" * 65536)
        answer = until_closed(connection)
    assert answer.startswith(b"HTTP/1.1 400 ") and b"Transfer-Encoding" in answer


def test_a_length_over_the_cap_is_answered_unread(emulator: Emulator) -> None:
    with connect(emulator) as connection:
        connection.sendall(post_head(f"Content-Length: {MAX_BODY_BYTES + 1}") + b"{" * 65536)
        answer = until_closed(connection)
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["code"] == 40002


def test_a_same_length_given_twice_is_read(emulator: Emulator) -> None:
    body = b"{not json"
    with connect(emulator) as connection:
        length = f"Content-Length: {len(body)}"
        connection.sendall(post_head(length, length, "Connection: close") + body)
        answer = until_closed(connection)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["message"] == "Invalid JSON body"


def test_a_connection_that_breaks_midway_leaves_no_traceback(emulator: Emulator) -> None:
    for _ in range(5):
        with connect(emulator) as connection:
            connection.sendall(post_head("Content-Length: 1000") + b"{")
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
    assert emulator.post(b"{}")["code"] == 40002  # still serving
    assert no_traceback(stopped_stderr(emulator))


@pytest.mark.parametrize("sent", [b"", b"POST / HTTP/1.1\r\nHost", post_head("Content-Length: 9")])
def test_a_silent_connection_is_closed_after_the_idle_timeout(sent: bytes) -> None:
    emulated = start_emulator("--idle-timeout", "0.5")
    try:
        with connect(emulated) as connection:
            connection.sendall(sent + b"{")
            assert b"200" not in until_closed(connection)  # closed, nothing answered
    finally:
        emulated.process.kill()
        emulated.process.wait(timeout=WAIT_S)


def threads_of(process: subprocess.Popen[str]) -> int:
    status = Path(f"/proc/{process.pid}/status").read_text()
    return int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))  # type: ignore[union-attr]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="counts threads in /proc")
def test_the_threads_of_idle_connections_end_with_the_idle_timeout() -> None:
    emulated = start_emulator("--idle-timeout", "0.5")
    try:
        idle = [connect(emulated) for _ in range(MAX_CONNECTIONS)]
        for connection in idle:  # each one served, by a thread, waiting for the rest
            connection.sendall(b"P")
        for connection in idle:
            with connection:
                assert until_closed(connection) == b""
        deadline = time.monotonic() + ANSWER_S
        while threads_of(emulated.process) > 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert threads_of(emulated.process) == 1
        assert emulated.post(b"{}")["code"] == 40002
    finally:
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
