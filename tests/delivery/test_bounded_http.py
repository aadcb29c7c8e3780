"""One POST bounded in time and memory, against loopback servers that misbehave for real."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import requests
from support.hostile_server import HostileServer, Piece, Request, head, json_answer, tiktok_ok

from tiktok_destination.delivery import bounded_http, watchdog
from tiktok_destination.delivery.bounded_http import MAX_ANSWER_BYTES, WholeRequestTimeout

BODY = b'{"data": []}'
HEADERS = {"Access-Token": "tok", "Content-Type": "application/json"}


def post(url: str, timeout_s: float = 5.0) -> bounded_http.Answer:
    with bounded_http.new_session() as session:
        return bounded_http.post(session, url, BODY, HEADERS, timeout_s)


def trickle(whole: bytes, every_s: float) -> Iterator[Piece]:
    for index in range(len(whole)):
        yield whole[index : index + 1]
        yield every_s


def test_a_plain_answer_is_read_whole() -> None:
    with HostileServer(lambda request: iter([tiktok_ok()])) as server:
        answer = post(server.url)
    assert answer.status == 200 and not answer.truncated
    assert answer.json()["code"] == 0
    assert server.requests[0].body == BODY


@pytest.mark.parametrize("part", ["headers", "body"])
def test_a_trickled_answer_ends_at_the_timeout(part: str) -> None:
    """One byte every 0.1 s never trips a per-read timeout; the whole exchange still ends."""
    whole = tiktok_ok()
    split = whole.index(b"\r\n\r\n") + 4

    def answer(request: Request) -> Iterator[Piece]:
        if part == "headers":
            yield from trickle(whole, 0.1)  # about 20 s for all of it
        else:
            yield whole[:split]
            yield from trickle(whole[split:], 0.1)

    with HostileServer(answer) as server:
        started = time.monotonic()
        with pytest.raises(WholeRequestTimeout):
            post(server.url, timeout_s=1.0)
        took = time.monotonic() - started
    assert took < 6.0, f"a 1 s timeout held for {took:.1f} s"


def test_a_server_that_never_answers_times_out() -> None:
    with HostileServer(lambda request: iter([30.0])) as server:
        started = time.monotonic()
        with pytest.raises(requests.Timeout):
            post(server.url, timeout_s=0.5)
    assert time.monotonic() - started < 6.0


def endless_chunks(request: Request) -> Iterator[Piece]:
    yield head(200, Transfer_Encoding="chunked", Content_Type="application/json")
    chunk = b"x" * 65536
    while True:
        yield b"%x\r\n%s\r\n" % (len(chunk), chunk)


def huge_answer(request: Request) -> Iterator[Piece]:
    """A 1 GB answer, made as it is sent."""
    yield head(200, Content_Length=2**30)
    chunk = b" " * 2**20
    for _ in range(2**10):
        yield chunk


@pytest.mark.parametrize("answer", [endless_chunks, huge_answer], ids=["endless", "1GB"])
def test_a_huge_answer_is_cut_at_the_cap(answer: Callable[[Request], Iterator[Piece]]) -> None:
    with HostileServer(answer) as server:
        started = time.monotonic()
        read = post(server.url)
        took = time.monotonic() - started
        sent = server.bytes_sent
    assert read.truncated and len(read.body) == MAX_ANSWER_BYTES
    assert read.json() is None
    assert took < 10.0
    assert sent < 16 * MAX_ANSWER_BYTES  # the client stopped reading: the server stopped too


CLIENT = """
import json, sys
from tiktok_destination.delivery import bounded_http, watchdog
with bounded_http.new_session() as session:
    answer = bounded_http.post(session, sys.argv[1], b"{}", {}, 20.0)
# VmHWM, not ru_maxrss: ru_maxrss survives exec and would count the forking test process.
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) // 1024
print(json.dumps({"peak_mb": peak, "bytes": len(answer.body), "truncated": answer.truncated}))
"""


def test_a_1gb_answer_takes_little_memory() -> None:
    """Measured in a process of its own: its peak resident memory, answer read."""
    with HostileServer(huge_answer) as server:
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(CLIENT), server.url],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    result = json.loads(done.stdout)
    assert result["truncated"] and result["bytes"] == MAX_ANSWER_BYTES
    assert result["peak_mb"] < 120, result  # reading it whole took over 2 GB


def test_a_deeply_nested_answer_is_no_json() -> None:
    nested = b"[" * 100_000 + b"]" * 100_000
    with HostileServer(lambda request: iter([json_answer(nested)])) as server:
        answer = post(server.url)
    assert not answer.truncated and answer.json() is None


@pytest.mark.parametrize(
    "url",
    [
        "http://user:pw@127.0.0.1:{port}/x",
        "http://127.0.0.1:{port}\\@localhost/x",
        "http://localhost.:{port}/x",
        "http://evil.example:{port}\\@127.0.0.1/x",
    ],
)
def test_a_url_breaking_the_rule_is_never_posted_to(url: str) -> None:
    with (
        HostileServer(lambda request: iter([tiktok_ok()])) as server,
        pytest.raises(bounded_http.UnsafeUrl),
    ):
        post(url.format(port=server.port))
    assert server.requests == []


def test_a_kept_alive_connection_is_still_watched() -> None:
    """The second request reuses the connection: its trickled answer is bounded all the same."""
    answers = iter([[tiktok_ok()], trickle(tiktok_ok(), 0.1)])
    with (
        HostileServer(lambda request: iter(next(answers))) as server,
        bounded_http.new_session() as session,
    ):
        assert bounded_http.post(session, server.url, BODY, HEADERS, 5.0).status == 200
        started = time.monotonic()
        with pytest.raises(WholeRequestTimeout):
            bounded_http.post(session, server.url, BODY, HEADERS, 1.0)
        assert time.monotonic() - started < 6.0
    assert len(server.requests) == 2


def test_exchanges_leave_no_thread_behind() -> None:
    """Fifty exchanges one after the other: no thread of their own (the server's one handler and
    the one watchdog thread at most), and the watchdog thread ends once it has nothing to do."""
    with HostileServer(lambda request: iter([tiktok_ok()])) as server:
        before = set(threading.enumerate())
        most = 0
        with bounded_http.new_session() as session:
            for _ in range(50):
                bounded_http.post(session, server.url, BODY, HEADERS, 5.0)
                most = max(most, len(set(threading.enumerate()) - before))
        assert most <= 2
        deadline = time.monotonic() + 2 * watchdog.IDLE_S + 10  # the server's thread ends too
        while set(threading.enumerate()) - before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert set(threading.enumerate()) <= before


def test_endless_headers_end_the_exchange() -> None:
    def headers_forever(request: Request) -> Iterator[Piece]:
        yield b"HTTP/1.1 200 OK\r\n"
        for n in range(100_000):
            yield b"X-Filler-%d: %s\r\n" % (n, b"y" * 1000)

    with HostileServer(headers_forever) as server:
        started = time.monotonic()
        with pytest.raises(requests.RequestException):
            post(server.url)
        assert time.monotonic() - started < 6.0
        assert server.bytes_sent < 50 * 2**20


PROXY_VARIABLES = ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"]
"""Every variable ``requests`` reads a proxy from (``all_proxy`` too: the same, in lower case)."""


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[HostileServer]:
    """A loopback proxy named by every proxy variable, recording what reaches it (it answers
    502: a request through it fails)."""
    with HostileServer(lambda request: iter([head(502, Content_Length=0)])) as server:
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        for name in [*PROXY_VARIABLES, "all_proxy"]:
            monkeypatch.setenv(name, f"http://127.0.0.1:{server.port}")
        yield server


SECRET = "proxy-test-SECRET-9c1f"


def post_secret(url: str) -> bounded_http.Answer:
    with bounded_http.new_session() as session:
        return bounded_http.post(session, url, BODY, {**HEADERS, "Access-Token": SECRET}, 5.0)


def seen_by(server: HostileServer) -> str:
    """Everything ``server`` received, as one text."""
    return "\n".join(
        f"{r.method} {r.target} {json.dumps(r.headers)} {r.body.decode('latin-1')}"
        for r in server.requests
    )


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_loopback_api_url_never_goes_through_a_proxy(proxy: HostileServer, host: str) -> None:
    with HostileServer(lambda request: iter([tiktok_ok()])) as server:
        answer = post_secret(server.url.replace("127.0.0.1", host))
    assert answer.status == 200 and answer.json()["code"] == 0
    assert [r.header("Access-Token") for r in server.requests] == [SECRET]
    assert proxy.requests == [], seen_by(proxy)


def test_a_loopback_https_api_url_never_goes_through_a_proxy(proxy: HostileServer) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]  # closed below: nothing listens there any more
    with pytest.raises(requests.exceptions.ConnectionError):
        post_secret(f"https://127.0.0.1:{port}/open_api/v1.3/event/track/")
    assert proxy.requests == [], seen_by(proxy)


def test_plain_http_elsewhere_is_refused_before_any_proxy_sees_it(proxy: HostileServer) -> None:
    with pytest.raises(bounded_http.UnsafeUrl):
        post_secret("http://tiktok.example.test/open_api/v1.3/event/track/")
    assert proxy.requests == []


def test_a_proxy_only_tunnels_https_and_never_reads_the_token(proxy: HostileServer) -> None:
    with pytest.raises(requests.exceptions.ProxyError):
        post_secret("https://tiktok.example.test/open_api/v1.3/event/track/")
    assert [(r.method, r.target) for r in proxy.requests] == [
        ("CONNECT", "tiktok.example.test:443")
    ]
    assert SECRET.lower() not in seen_by(proxy).lower() and "data" not in seen_by(proxy)
