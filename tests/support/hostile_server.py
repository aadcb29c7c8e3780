"""A loopback HTTP server that misbehaves for real, at the socket level.

``HostileServer(answer)`` listens on 127.0.0.1 (a free port). For every request it reads the
request line, the headers and the body, then calls ``answer(request)`` and writes the pieces it
yields: each piece is ``bytes`` (written at once) or a number (seconds to wait before the next
piece). That is enough to trickle an answer a byte at a time, hang, stream an endless or a huge
body, or echo the request's token back. Every wait is bounded: ``stop()`` wakes every handler,
and a handler ends as soon as the client goes away.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

Piece = bytes | float
Answer = Callable[["Request"], Iterator[Piece]]


@dataclass
class Request:
    """One request as the server read it."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes = b""
    received: dict[str, Any] = field(default_factory=dict)

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


def head(status: int = 200, **headers: str | int) -> bytes:
    """A status line and headers (``Content_Length=5`` becomes ``Content-Length: 5``)."""
    lines = [f"HTTP/1.1 {status} X"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def json_answer(document: Any, status: int = 200) -> bytes:
    """A whole answer carrying ``document`` as JSON."""
    body = json.dumps(document).encode() if not isinstance(document, bytes) else document
    return head(status, Content_Type="application/json", Content_Length=len(body)) + body


def tiktok_ok() -> bytes:
    return json_answer({"code": 0, "message": "OK", "request_id": "ok-1", "data": {}})


class HostileServer:
    """The server; use it as a context manager."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[Request] = []
        self.bytes_sent = 0
        self.accepted = 0
        """Connections accepted so far."""
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/open_api/v1.3/event/track/"
        self._threads: list[threading.Thread] = []
        self._connections: list[socket.socket] = []
        self._acceptor = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> HostileServer:
        self._acceptor.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopping.set()
        self._acceptor.join(timeout=5)
        with self._lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)  # wakes a handler blocked reading
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._connections.append(connection)
                self.accepted += 1
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, connection: socket.socket) -> None:
        connection.settimeout(5)
        reader = connection.makefile("rb")
        try:
            while not self._stopping.is_set():
                request = _read_request(reader)
                if request is None:
                    return
                with self._lock:
                    self.requests.append(request)
                for piece in self.answer(request):
                    if self._stopping.is_set():
                        return
                    if isinstance(piece, bytes):
                        connection.sendall(piece)
                        with self._lock:
                            self.bytes_sent += len(piece)
                    elif self._stopping.wait(piece):
                        return
        except OSError:  # the client went away: that is how most of these answers end
            return
        finally:
            reader.close()
            connection.close()


def _read_request(reader: Any) -> Request | None:
    line = reader.readline(65536)
    if not line.strip():
        return None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers = {}
    while True:
        header = reader.readline(65536).decode("latin-1")
        if header in ("\r\n", "\n", ""):
            break
        name, _, value = header.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = reader.read(int(headers.get("content-length") or 0))
    return Request(method, target, headers, body)
