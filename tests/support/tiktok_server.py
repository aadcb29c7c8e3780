"""A fake TikTok Events API 2.0 endpoint on loopback, serving faults for real.

``FakeTikTok`` listens on 127.0.0.1 (a free port) in a background thread. It checks the path,
the method and the ``Access-Token`` header, validates the shape of each body, records the events
it accepts and answers like TikTok (HTTP 200 with ``{code, message, request_id, data}``).
Faults come from a queue (``fail_next``) or a ``policy`` called for every request: HTTP
statuses with ``Retry-After``, TikTok body codes, redirects, dropped connections (before or
after the events were recorded), answers later than the client's timeout, answers not JSON.
``latency_s`` delays every answer, as a server that far away would (TikTok is ~150 ms from
many senders); requests on different connections wait side by side.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

PATH = "/open_api/v1.3/event/track/"
SOURCES = frozenset({"web", "app", "offline", "crm"})


@dataclass(frozen=True)
class HttpStatus:
    """Answer with this HTTP status (and ``Retry-After`` when given) and no TikTok body."""

    status: int
    retry_after: str | None = None


@dataclass(frozen=True)
class BodyCode:
    """HTTP 200 with this TikTok ``code``; nothing is recorded."""

    code: int
    message: str = "injected error"


@dataclass(frozen=True)
class Drop:
    """Read the request and close the connection without answering.

    With ``accept``, a valid request's events are recorded first: the client cannot know that
    they arrived, and sends them again (this is how real duplicates happen).
    """

    accept: bool = False


@dataclass(frozen=True)
class Stall:
    """Answer normally, but only after ``seconds`` (longer than the client's timeout).

    The events are recorded as accepted-then-dropped: the client gave up before the answer.
    """

    seconds: float


@dataclass(frozen=True)
class NotJson:
    """HTTP 200 with a body that is not JSON."""


@dataclass(frozen=True)
class Redirect:
    """Answer ``307 Temporary Redirect`` to ``location`` (a client must not follow it)."""

    location: str


Fault = HttpStatus | BodyCode | Drop | Stall | NotJson | Redirect
Policy = Callable[[int, Any], "Fault | None"]
"""Called with the request number (from 0) and the parsed body; returns a fault or ``None``."""


@dataclass
class SeenRequest:
    """One request as the server saw it."""

    body_bytes: int
    event_ids: list[str]
    test_event_code: str | None
    fault: Fault | None
    client_port: int
    content_type: str | None

    @property
    def size(self) -> int:
        """How many events the request carried."""
        return len(self.event_ids)


def payload(
    event_id: str,
    *,
    source: str = "web",
    source_id: str = "PIXEL1",
    test_event_code: str | None = None,
    **properties: Any,
) -> dict[str, Any]:
    """A transform-style payload carrying one event."""
    event = {"event": "ViewContent", "event_time": 1_700_000_000, "event_id": event_id}
    if properties:
        event["properties"] = properties
    body: dict[str, Any] = {"event_source": source, "event_source_id": source_id}
    if test_event_code is not None:
        body["test_event_code"] = test_event_code
    body["data"] = [event]
    return body


def shape_problem(body: Any) -> str | None:
    """What makes ``body`` an invalid Events API 2.0 request, or ``None``."""
    if not isinstance(body, dict):
        return "Invalid JSON body"
    if body.get("event_source") not in SOURCES:
        return "Invalid value for event_source"
    if not isinstance(body.get("event_source_id"), str) or not body["event_source_id"]:
        return "Invalid value for event_source_id"
    data = body.get("data")
    if not isinstance(data, list) or not 1 <= len(data) <= 1000:
        return "data must be a list of 1 to 1000 events"
    for i, event in enumerate(data):
        if not isinstance(event, dict):
            return f"data[{i}] must be an object"
        for key, kind in (("event", str), ("event_time", int), ("event_id", str)):
            if not isinstance(event.get(key), kind):
                return f"Invalid value for data[{i}].{key}"
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeTikTok


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # answers must not wait for delayed ACKs
    timeout = 30
    server: _Server
    _open: int | None = None

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._answer(405, b"method not allowed")

    do_PUT = do_GET

    def do_POST(self) -> None:
        fake = self.server.fake
        started = time.perf_counter()
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        read = time.perf_counter()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        done = time.perf_counter()
        authorized = self.headers.get("Access-Token") == fake.token
        seen = SeenRequest(
            len(raw), [], None, None, self.client_address[1], self.headers.get("Content-Type")
        )
        timing = (done - started, done - read)  # read + json.loads, json.loads alone
        fault, self._open = fake._arrived(
            timing, seen, body, faulty=authorized and self.path == PATH
        )
        try:
            self._handle(fake, fault, authorized, body)
        finally:
            self._leave()

    def _leave(self) -> None:
        """Mark the request answered (or dropped) in the server's timeline, once."""
        if self._open is not None:
            self.server.fake._left(self._open)
            self._open = None

    def _handle(self, fake: FakeTikTok, fault: Fault | None, authorized: bool, body: Any) -> None:
        if fake.latency_s:
            fake._stopping.wait(fake.latency_s)
        if self.path != PATH:
            return self._answer(404, b"not found")
        if not authorized:
            return self._tiktok(40105, "Access token is incorrect or has been revoked.")
        if isinstance(fault, HttpStatus):
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return self._answer(fault.status, b"injected status", headers)
        if isinstance(fault, BodyCode):
            return self._tiktok(fault.code, fault.message)
        if isinstance(fault, NotJson):
            return self._answer(200, b"<html>gateway hiccup</html>")
        if isinstance(fault, Redirect):
            return self._answer(307, b"moved", {"Location": fault.location})
        if isinstance(fault, Drop) and not fault.accept:
            self.close_connection = True
            return None
        if isinstance(fault, Stall):
            fake._stopping.wait(fault.seconds)
        problem = shape_problem(body) or fake._bad_event(body)
        if problem is not None:
            return self._tiktok(40002, problem)
        fake._record(body, accepted_then_dropped=isinstance(fault, Drop | Stall))
        if isinstance(fault, Drop):
            self.close_connection = True
            return None
        return self._tiktok(0, "OK")

    def _tiktok(self, code: int, message: str) -> None:
        request_id = f"fake-{next(self.server.fake._request_ids)}"
        answer = {"code": code, "message": message, "request_id": request_id, "data": {}}
        self._answer(200, json.dumps(answer).encode(), {"Content-Type": "application/json"})

    def _answer(self, status: int, content: bytes, headers: dict[str, str] | None = None) -> None:
        self._leave()  # before the client can read the answer and send its next request
        try:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)
        except OSError:  # the client gave up (read timeout) and closed the connection
            self.close_connection = True


class FakeTikTok:
    """The fake endpoint. Use as a context manager, or ``start()`` / ``stop()``."""

    def __init__(
        self, token: str = "test-token", *, policy: Policy | None = None, latency_s: float = 0.0
    ) -> None:
        self.token = token
        self.policy = policy
        self.latency_s = latency_s
        """Seconds every answer waits, as over a real network."""
        self.bad_event_ids: set[str] = set()
        self.faults: deque[Fault] = deque()
        self.events: list[dict[str, Any]] = []
        self.requests: list[SeenRequest] = []
        self.timeline: list[tuple[str, int]] = []
        """``("in", n)`` when request ``n`` arrived, ``("out", n)`` just before it was answered
        (or dropped): what was in flight at the server, in order."""
        self.accepted_then_dropped: Counter[str] = Counter()
        """Event id -> times recorded by a request the client got no answer to (may resend)."""
        self.parse_seconds = 0.0
        """Time the handlers spent reading bodies and ``json.loads``-ing them."""
        self.loads_seconds = 0.0
        """Of which ``json.loads`` alone."""
        self._request_ids = itertools.count(1)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}{PATH}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def start(self) -> FakeTikTok:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeTikTok:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def fail_next(self, *faults: Fault) -> None:
        """Serve these faults to the next requests that carry the right token, in order."""
        with self._lock:
            self.faults.extend(faults)

    @property
    def event_ids(self) -> list[str]:
        with self._lock:
            return [event["event_id"] for event in self.events]

    def _arrived(
        self, timing: tuple[float, float], seen: SeenRequest, body: Any, *, faulty: bool
    ) -> tuple[Fault | None, int]:
        head: dict[str, Any] = body if isinstance(body, dict) else {}
        data = head.get("data")
        data = data if isinstance(data, list) else []
        seen.event_ids = [str(e.get("event_id")) for e in data if isinstance(e, dict)]
        seen.test_event_code = head.get("test_event_code")
        with self._lock:
            self.parse_seconds += timing[0]
            self.loads_seconds += timing[1]
            number = len(self.requests)
            fault = self.faults.popleft() if faulty and self.faults else None
            if fault is None and faulty and self.policy is not None:
                fault = self.policy(number, body)
            seen.fault = fault
            self.requests.append(seen)
            self.timeline.append(("in", number))
        return fault, number

    def _left(self, number: int) -> None:
        with self._lock:
            self.timeline.append(("out", number))

    def most_in_flight(self) -> int:
        """The most requests the server was handling at once."""
        most = current = 0
        with self._lock:
            for kind, _number in self.timeline:
                current += 1 if kind == "in" else -1
                most = max(most, current)
        return most

    def _bad_event(self, body: dict[str, Any]) -> str | None:
        for i, event in enumerate(body["data"]):
            if event["event_id"] in self.bad_event_ids:
                return f"Invalid value for data[{i}].properties (event_id {event['event_id']})"
        return None

    def _record(self, body: dict[str, Any], *, accepted_then_dropped: bool) -> None:
        head = {
            key: body.get(key) for key in ("event_source", "event_source_id", "test_event_code")
        }
        with self._lock:
            for event in body["data"]:
                self.events.append({**head, **event})
                if accepted_then_dropped:
                    self.accepted_then_dropped[event["event_id"]] += 1
