"""``tiktok-destination emulate``: a local TikTok Events API 2.0 endpoint to test pipelines on.

It serves ``POST /open_api/v1.3/event/track/`` as TikTok does: the ``Access-Token`` header is
checked (any non-empty token, or exactly ``--token``; else code 40105), the body is validated
against ``schemas/event-track-request.schema.json`` (code 40002 naming the path of the first
problem), events are deduplicated on ``(event_source_id, event_id, event)``, and every answer is
HTTP 200 with ``{code, message, request_id, data}``. ``GET /events`` gives the events it kept,
as JSON Lines. ``--fail-every N`` answers every N-th request with a retryable server error
(code 50000), for resilience tests. Its base URL is the first line it prints; it runs until
SIGINT or SIGTERM. It is a product feature for users' pipelines, apart from the tests' fake
server.

Whatever a client sends, it stays bounded: a body is read only up to ``MAX_BODY_BYTES`` and only
when ``Content-Length`` is one plain number (a negative, non-numeric or conflicting length, or a
``Transfer-Encoding``, is answered HTTP 400 with a JSON body and the connection closed); a
connection that sends nothing for ``--idle-timeout`` seconds is closed, and its thread ends.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator

from tiktok_destination import facts, resources
from tiktok_destination.quoting import printable

PATH = urlsplit(facts.API_URL).path
MAX_BODY_BYTES = 64 * 1024 * 1024
"""Larger bodies are refused unread."""
IDLE_TIMEOUT_S = 30.0
"""Seconds a connection may send nothing (between requests or within one) before it is closed."""
MAX_CONNECTIONS = 64
"""Connections waiting to be accepted at once (the listen backlog)."""
BAD_REQUEST = 40002
_LENGTH = re.compile(r"[0-9]{1,18}")
WRONG_TOKEN = (40105, "Access token is incorrect or has been revoked.")
SERVER_ERROR = (50000, "Emulated server error (--fail-every): retry later.")


def _where(path: Any) -> str:
    return ".".join(str(part) for part in path) or "body"


class EmulatedTikTok:
    """The endpoint's state and answers, apart from HTTP (``serve`` puts it on a socket)."""

    def __init__(self, token: str | None = None, fail_every: int | None = None) -> None:
        self.token = token
        self.fail_every = fail_every
        self._validator = Draft202012Validator(
            resources.load_json("schemas/event-track-request.schema.json")
        )
        self._kept: dict[tuple[Any, Any, Any], dict[str, Any]] = {}
        self._unkeyed: list[dict[str, Any]] = []
        self._requests = itertools.count(1)
        self._lock = threading.Lock()

    def answer(self, token: str | None, raw: bytes) -> tuple[int, str, int]:
        """``(code, message, events kept)`` for one POST."""
        number = next(self._requests)
        if not token or (self.token is not None and token != self.token):
            return (*WRONG_TOKEN, 0)
        if self.fail_every and number % self.fail_every == 0:
            return (*SERVER_ERROR, 0)
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            return 40002, "Invalid JSON body", 0
        try:
            problem = min(
                self._validator.iter_errors(body), key=lambda e: list(e.path), default=None
            )
        except RecursionError:
            return 40002, "body: nested too deeply", 0
        if problem is not None:
            return 40002, f"{_where(problem.path)}: {problem.message[:300]}", 0
        return 0, "OK", self._keep(body)

    def _keep(self, body: dict[str, Any]) -> int:
        head = {
            key: body[key]
            for key in ("event_source", "event_source_id", "test_event_code")
            if key in body
        }
        new = 0
        with self._lock:
            for event in body["data"]:
                kept = {**head, **event}
                if "event_id" not in event:
                    self._unkeyed.append(kept)
                    new += 1
                    continue
                key = (body["event_source_id"], event["event_id"], event["event"])
                if key not in self._kept:
                    self._kept[key] = kept
                    new += 1
        return new

    def events(self) -> list[dict[str, Any]]:
        """The events kept, each once, in the order they first arrived (unkeyed ones last)."""
        with self._lock:
            return [*self._kept.values(), *self._unkeyed]


def content_length(values: list[str]) -> int | str:
    """The body's length from the ``Content-Length`` header lines given, or why there is none
    to trust (no line at all is an empty body)."""
    found = {value.strip() for line in values for value in line.split(",")}
    if not found:
        return 0
    if any(not _LENGTH.fullmatch(value) for value in found):
        shown = ", ".join(repr(value[:40]) for value in sorted(found))
        return f"Content-Length must be a whole number of bytes, got {shown}"
    if len({int(value) for value in found}) > 1:
        return f"Content-Length given {len(found)} different values"
    return int(found.pop())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = MAX_CONNECTIONS  # connections waiting to be accepted: not dropped
    emulated: EmulatedTikTok
    idle_timeout_s: float = IDLE_TIMEOUT_S

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection that broke (reset, closed midway): nothing to answer, no traceback."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.idle_timeout_s)  # each read waits this long at most

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.split("?")[0] != "/events":
            return self._send(404, b"not found: POST " + PATH.encode() + b" or GET /events\n")
        lines = "".join(
            json.dumps(e, ensure_ascii=False) + "\n" for e in self.server.emulated.events()
        )
        return self._send(200, lines.encode(), "application/x-ndjson")

    def do_POST(self) -> None:
        if self.path.split("?")[0] != PATH:
            return self._send(404, b"not found\n")
        length = content_length(self.headers.get_all("Content-Length") or [])
        if "Transfer-Encoding" in self.headers:
            length = "Transfer-Encoding is not supported: send the body with a Content-Length"
        if isinstance(length, str):  # where this body ends is unknown: the connection ends here
            self.close_connection = True
            return self._tiktok(BAD_REQUEST, length, 0, status=400)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            return self._tiktok(BAD_REQUEST, f"body: larger than {MAX_BODY_BYTES} bytes", 0)
        raw = self.rfile.read(length)
        code, message, kept = self.server.emulated.answer(self.headers.get(facts.TOKEN_HEADER), raw)
        self._tiktok(code, message, kept)

    def _tiktok(self, code: int, message: str, kept: int, status: int = 200) -> None:
        request_id = f"emulated-{uuid.uuid4().hex}"
        line = f"POST {self.path[:200]}: code {code} ({message[:120]}); {kept} new events"
        print(printable(line), file=sys.stderr)
        answer = {"code": code, "message": message, "request_id": request_id, "data": {}}
        self._send(status, json.dumps(answer).encode(), facts.CONTENT_TYPE)

    def _send(self, status: int, content: bytes, kind: str = "text/plain") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(content)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(content)
        except OSError:
            self.close_connection = True


def serve(
    emulated: EmulatedTikTok, host: str, port: int, idle_timeout_s: float = IDLE_TIMEOUT_S
) -> _Server:
    """A server for ``emulated`` bound to ``host:port`` (port 0: a free one), not yet serving."""
    server = _Server((host, port))
    server.emulated = emulated
    server.idle_timeout_s = idle_timeout_s
    return server


def base_url(server: _Server) -> str:
    host, port = server.server_address[:2]
    name = host.decode() if isinstance(host, bytes) else str(host)
    return f"http://[{name}]:{port}" if ":" in name else f"http://{name}:{port}"


def cmd_emulate(args: argparse.Namespace) -> int:
    from tiktok_destination.cli.exits import EXIT_OK, UsageError

    emulated = EmulatedTikTok(args.token, args.fail_every)
    try:
        server = serve(emulated, args.host, args.port, args.idle_timeout)
    except OSError as error:
        raise UsageError(f"cannot listen on {args.host}:{args.port} ({error.strerror})") from None
    try:  # a stop signal may come as soon as the URL is out
        print(base_url(server), flush=True)
        print(f"TikTok Events API emulator: POST {base_url(server)}{PATH}", file=sys.stderr)
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:  # SIGINT or SIGTERM: the way to stop it
        pass
    finally:
        server.server_close()
    print(f"emulator stopped: {len(emulated.events())} events kept", file=sys.stderr)
    return EXIT_OK


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, got {text!r}")
    return int(text)


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 86400:
        raise argparse.ArgumentTypeError(f"expected seconds between 0 and 86400, got {text!r}")
    return seconds


def register(commands: Any) -> None:
    command = commands.add_parser("emulate", help="serve a local TikTok Events API to test against")
    command.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    command.add_argument("--port", type=int, default=0, help="default 0: a free port")
    command.add_argument("--token", help="accept only this access token (default: any)")
    command.add_argument(
        "--fail-every",
        type=_positive_int,
        metavar="N",
        help="answer every N-th POST with code 50000",
    )
    command.add_argument(
        "--idle-timeout",
        type=_seconds,
        default=IDLE_TIMEOUT_S,
        metavar="SECONDS",
        help=f"close a connection that sends nothing for this long (default {IDLE_TIMEOUT_S:g})",
    )
    command.set_defaults(run=cmd_emulate)
