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
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator

from tiktok_destination import facts, resources

PATH = urlsplit(facts.API_URL).path
MAX_BODY_BYTES = 64 * 1024 * 1024
"""Larger bodies are refused unread."""
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    emulated: EmulatedTikTok


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

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
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            return self._tiktok(40002, f"body: larger than {MAX_BODY_BYTES} bytes", 0)
        raw = self.rfile.read(length)
        code, message, kept = self.server.emulated.answer(self.headers.get(facts.TOKEN_HEADER), raw)
        self._tiktok(code, message, kept)

    def _tiktok(self, code: int, message: str, kept: int) -> None:
        request_id = f"emulated-{uuid.uuid4().hex}"
        print(
            f"POST {self.path}: code {code} ({message[:120]}); {kept} new events", file=sys.stderr
        )
        answer = {"code": code, "message": message, "request_id": request_id, "data": {}}
        self._send(200, json.dumps(answer).encode(), facts.CONTENT_TYPE)

    def _send(self, status: int, content: bytes, kind: str = "text/plain") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)
        except OSError:
            self.close_connection = True


def serve(emulated: EmulatedTikTok, host: str, port: int) -> _Server:
    """A server for ``emulated`` bound to ``host:port`` (port 0: a free one), not yet serving."""
    server = _Server((host, port), _Handler)
    server.emulated = emulated
    return server


def base_url(server: _Server) -> str:
    host, port = server.server_address[:2]
    name = host.decode() if isinstance(host, bytes) else str(host)
    return f"http://[{name}]:{port}" if ":" in name else f"http://{name}:{port}"


def cmd_emulate(args: argparse.Namespace) -> int:
    from tiktok_destination.exits import EXIT_OK, UsageError

    emulated = EmulatedTikTok(args.token, args.fail_every)
    try:
        server = serve(emulated, args.host, args.port)
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
    command.set_defaults(run=cmd_emulate)
