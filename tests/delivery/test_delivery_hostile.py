"""Delivery against hostile or broken servers on loopback: the token never leaks, answers are
bounded, nothing hangs, and the token only ever goes where the api_url rule allows."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.cli_helpers import (
    no_traceback,
    purchase,
    read_outcomes,
    run_cli,
    write_events,
    write_settings,
)
from support.helpers import TOKEN
from support.hostile_server import HostileServer, Piece, Request, head, json_answer, tiktok_ok
from support.tiktok_server import payload

from tiktok_destination.delivery.deliverer import Deliverer, DeliveryConfig
from tiktok_destination.outcomes import SendOutcome

PAYLOADS = [payload(f"e{n}") for n in range(3)]


def send(server: HostileServer, **config: Any) -> list[SendOutcome]:
    settings = {"access_token": TOKEN, "api_url": server.url, "max_retries": 0, **config}
    with Deliverer(DeliveryConfig(**settings), sleep=lambda _s: None) as deliverer:
        return deliverer.send(PAYLOADS)


def token_pieces(text: str, shortest: int = 6) -> list[str]:
    """Pieces of the token (``shortest`` characters or more, any case) found in ``text``."""
    low, token = text.lower(), TOKEN.lower()
    return [
        token[start : start + shortest]
        for start in range(len(token) - shortest + 1)
        if token[start : start + shortest] in low
    ]


def echo_at_the_cut(request: Request) -> Iterator[Piece]:
    """A 502 page that echoes the token just where a 200-character excerpt would cut it."""
    page = ("x" * 180 + request.header("Access-Token") + " and more").encode()
    yield head(502, Content_Length=len(page)) + page


def echo_in_every_case(request: Request) -> Iterator[Piece]:
    token = request.header("Access-Token")
    yield json_answer(
        {
            "code": 40002,
            "message": f"bad token {token.upper()} / {token.lower()} / {token[:10]}\n{token[10:]}",
            "request_id": f"id-{token}",
        }
    )


@pytest.mark.parametrize("answer", [echo_at_the_cut, echo_in_every_case])
def test_an_echoed_token_never_reaches_outcomes_or_logs(
    answer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with HostileServer(answer) as server:
        outcomes = send(server)
    assert server.requests, "the server was asked"
    text = json.dumps(outcomes) + caplog.text
    assert "<redacted>" in json.dumps(outcomes)
    assert token_pieces(text) == []


def test_a_huge_request_id_and_message_are_bounded() -> None:
    document = {"code": 0, "message": "OK " * 50_000, "request_id": "r" * 100_000}
    with HostileServer(lambda request: iter([json_answer(document)])) as server:
        outcomes = send(server)
    assert [outcome["status"] for outcome in outcomes] == ["delivered"] * 3
    for outcome in outcomes:
        assert len(outcome["request_id"] or "") <= 64
        assert len(outcome["message"]) <= 300
    assert len(json.dumps(outcomes)) < 2000  # it was 300 KB: the id copied into every record


def test_a_deeply_nested_answer_is_a_bad_answer_retried() -> None:
    nested = b"[" * 100_000 + b"]" * 100_000
    with HostileServer(lambda request: iter([json_answer(nested)])) as server:
        outcomes = send(server, max_retries=2)
    assert len(server.requests) == 3  # retried like any answer that is not TikTok's JSON
    assert outcomes[0]["status"] == "failed"
    assert "not TikTok's JSON" in outcomes[0]["message"]
    assert "RecursionError" not in outcomes[0]["message"]


def test_a_trickling_server_holds_a_send_no_longer_than_its_timeouts() -> None:
    def trickle(request: Request) -> Iterator[Piece]:
        for byte in tiktok_ok():
            yield bytes([byte])
            yield 0.1

    with HostileServer(trickle) as server:
        started = time.monotonic()
        outcomes = send(server, timeout_s=0.5, max_retries=1)
        took = time.monotonic() - started
    assert len(server.requests) == 2
    assert outcomes[0]["status"] == "failed"
    assert "no answer within 0.5 s" in outcomes[0]["message"]
    assert took < 8.0, f"two attempts of 0.5 s took {took:.1f} s"


def test_an_endless_answer_is_cut_and_retried() -> None:
    def endless(request: Request) -> Iterator[Piece]:
        yield head(200, Transfer_Encoding="chunked")
        while True:
            yield b"10000\r\n" + b"{" * 0x10000 + b"\r\n"

    with HostileServer(endless) as server:
        started = time.monotonic()
        outcomes = send(server, max_retries=1)
    assert time.monotonic() - started < 10.0
    assert outcomes[0]["status"] == "failed" and len(server.requests) == 2
    assert len(outcomes[0]["message"]) < 400


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://user:pw@127.0.0.1:{port}/x", "user name or password"),
        ("http://evil.example:{port}\\@127.0.0.1/x", "backslash"),
        ("http://example.com:{port}/x", "https"),
        ("http://0.0.0.0:{port}/x", "https"),  # reaches this machine, but not as loopback
    ],
)
def test_the_token_goes_only_where_the_api_url_rule_allows(url: str, problem: str) -> None:
    """A ``DeliveryConfig`` made by hand skips settings validation: delivery checks again."""
    with HostileServer(lambda request: iter([tiktok_ok()])) as server:
        outcomes = send(server, api_url=url.format(port=server.port))
    assert server.requests == []
    assert {outcome["status"] for outcome in outcomes} == {"failed"}
    assert problem in outcomes[0]["message"] and "api_url" in outcomes[0]["message"]
    assert "pw" not in outcomes[0]["message"]


@pytest.mark.parametrize(
    ("request_id", "kept"),
    [
        ("202311142213200A0B1C2D3E4F", "202311142213200A0B1C2D3E4F"),
        ("fake-1", "fake-1"),
        ("r" * 65, None),
        ("jane.doe@example.com", None),
        ("id with spaces", None),
    ],
)
def test_only_a_plain_request_id_is_kept(request_id: str, kept: str | None) -> None:
    document = {"code": 0, "message": "OK", "request_id": request_id}
    with HostileServer(lambda request: iter([json_answer(document)])) as server:
        outcomes = send(server)
    assert [outcome["request_id"] for outcome in outcomes] == [kept] * 3


def test_personal_data_echoed_by_the_server_is_masked() -> None:
    message = "Invalid value for description: jane.doe@example.com, +33 6 12 34 56 78"
    document = {"code": 40002, "message": message, "request_id": "r-1"}
    with HostileServer(lambda request: iter([json_answer(document)])) as server:
        outcomes = send(server)
    text = json.dumps(outcomes)
    assert "jane.doe" not in text and "12 34 56 78" not in text
    assert "Invalid value for description: <email>, +## # ## ## ## ##" in outcomes[0]["message"]


CONTROLS = (
    "\x1b[2J\x1b]0;owned\x07 bell\x07 nul\x00 bs\x08 del\x7f csi\x9b31m nel\x85 ls\u2028 ps\u2029"
    " vt\x0b ff\x0c fs\x1c gs\x1d rs\x1e cr\r lf\n rlo\u202e lri\u2066 rlm\u200f lone\ud800 end"
)
"""Text a terminal or a record must never get raw: escape sequences, BEL, NUL, C1 controls,
every line break, bidi controls, a lone surrogate."""


def controls_json(request: Request) -> Iterator[Piece]:
    yield json_answer({"code": 50000, "message": CONTROLS, "request_id": "r-1"})


def controls_page(request: Request) -> Iterator[Piece]:
    page = CONTROLS.encode("utf-8", "surrogatepass")
    yield head(502, Content_Length=len(page)) + page


def printable(text: str) -> bool:
    """``text`` holds nothing but printable characters and plain line feeds."""
    return all(line.isprintable() for line in text.split("\n"))


@pytest.mark.parametrize("answer", [controls_json, controls_page])
def test_control_characters_from_the_server_never_reach_outcomes_or_logs(
    answer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with HostileServer(answer) as server:
        outcomes = send(server)
    assert [o["status"] for o in outcomes] == ["failed"] * 3
    message = outcomes[0]["message"]
    assert "owned" in message and "end" in message  # the text is shown, its controls are not
    assert message.isprintable(), repr(message)
    assert printable(caplog.text), repr(caplog.text)
    json.dumps(outcomes).encode()  # every outcome can be written out (no lone surrogate)


@pytest.mark.parametrize("answer", [controls_json, controls_page])
def test_control_characters_from_the_server_never_reach_sends_stderr(
    tmp_path: Path, answer: Any
) -> None:
    with HostileServer(answer) as server:
        settings = write_settings(tmp_path / "s.json", api_url=server.url, max_retries=0)
        events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(3)])
        outcomes = tmp_path / "o.jsonl"
        done = run_cli("send", "--settings", settings, events, "--outcomes", str(outcomes))
    assert done.returncode != 0 and server.requests
    assert "owned" in done.stderr and no_traceback(done.stderr)
    assert printable(done.stderr), repr(done.stderr)
    for record in read_outcomes(outcomes):
        assert record["message"].isprintable(), repr(record["message"])


def test_a_long_token_across_the_reading_chunks_of_a_2mib_answer_is_redacted() -> None:
    """A 1,000-character token echoed at the 64 KiB boundary where the answer is read in two
    chunks, sent in two writes, in another case and broken by a line; then 2 MiB of text."""
    token = ("Ab3-" * 250)[:999] + "z"
    echoed = f"{token[:400]}\n{token[400:].swapcase()}"
    start = 65536 - 700  # the token's first character, in the body's bytes
    filler = "q" * (2 * 2**20 - 70_000)
    document = {"request_id": "", "code": 50000, "message": f"bad token {echoed} {filler}"}
    document["request_id"] = "r" * (start - json.dumps(document).index(token[:20]))
    body = json.dumps(document).encode()
    assert body[start : start + 5].decode() == token[:5] and len(body) < 2 * 2**20

    def in_two_writes(request: Request) -> Iterator[Piece]:
        whole = head(200, Content_Type="application/json", Content_Length=len(body)) + body
        cut = len(whole) - len(body) + 65536
        yield from (whole[:cut], 0.05, whole[cut:])

    with HostileServer(in_two_writes) as server:
        outcomes = send(server, access_token=token)
    assert server.requests[0].header("Access-Token") == token
    message = outcomes[0]["message"]
    assert "TikTok code 50000: bad token <redacted> qqq" in message
    low = json.dumps(outcomes).lower()
    assert not [n for n in range(0, 1000 - 8) if token[n : n + 8].lower() in low]
