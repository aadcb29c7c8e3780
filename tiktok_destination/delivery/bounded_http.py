"""One HTTP POST bounded in time and in memory, whatever the server does.

``post`` sends a request and reads its answer with two bounds that ``requests`` alone does not
give:

- **time**: ``timeout_s`` bounds the *whole* exchange (connect, send, headers, body). A server
  that trickles a byte at a time never resets the clock: when time is up the process's one
  watchdog thread (``watchdog``) shuts the connection's socket, and the call raises
  ``WholeRequestTimeout`` (a ``requests.ReadTimeout``).
  The watchdog needs the sockets of the session's pool: sessions from ``new_session`` have it; a
  session made elsewhere keeps ``requests``' per-read timeout for the headers, and this module's
  deadline for the body.
- **memory**: at most ``MAX_ANSWER_BYTES`` of the answer are read (after decompression); a
  longer answer, endless or not, is cut there and marked ``truncated``.

Before anything is sent, the URL given and the URL that ``requests`` prepared from it are checked
by the api_url rule (``api_url.problem``): the access token never goes where that rule says no.
Redirects are never followed (a redirect would carry the token elsewhere). A proxy named by the
environment is used only where ``api_url.direct`` allows: never for a loopback host, never for
plain http, so a proxy never reads the token.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from tiktok_destination import api_url
from tiktok_destination.delivery.watchdog import WATCHDOG, Watch

MAX_ANSWER_BYTES = 2 * 2**20
"""Bytes of an answer read at most. TikTok's answers are a few hundred bytes."""
_CHUNK_BYTES = 64 * 2**10


class WholeRequestTimeout(requests.exceptions.ReadTimeout):
    """The exchange did not end within its time (the server may be trickling its answer)."""


class UnsafeUrl(requests.exceptions.InvalidURL):
    """The prepared URL breaks the api_url rule: nothing was sent."""


@dataclass(frozen=True)
class Answer:
    """A server's answer, its body cut at ``MAX_ANSWER_BYTES``."""

    status: int
    headers: CaseInsensitiveDict[str]
    body: bytes
    truncated: bool

    def json(self) -> Any:
        """The parsed body, or ``None`` when it is cut, not JSON, or nested too deep to parse."""
        if self.truncated:
            return None
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):
            return None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


_current = threading.local()


def _attach(sock: socket.socket | None) -> None:
    watch: Watch | None = getattr(_current, "watch", None)
    if watch is not None:
        watch.attach(sock)


class _WatchedHTTPConnection(urllib3.connection.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _attach(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is not None:  # a kept-alive connection: no connect() this time
            _attach(self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(urllib3.connection.HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _attach(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is not None:
            _attach(self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _WatchedAdapter(HTTPAdapter):
    """``requests``' adapter whose connections tell the watchdog which socket they use."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager


def new_session(connections: int = 10) -> requests.Session:
    """A session whose exchanges ``post`` can bound as a whole, keeping ``connections`` open."""
    session = requests.Session()
    adapter = _WatchedAdapter(pool_maxsize=connections)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def post(
    session: requests.Session, url: str, data: bytes, headers: dict[str, str], timeout_s: float
) -> Answer:
    """POST ``data`` to ``url`` and read the answer, all within ``timeout_s`` seconds.

    Raises what ``requests`` raises for a failed exchange, ``WholeRequestTimeout`` when time ran
    out, and ``UnsafeUrl`` (before sending anything) when the URL breaks the api_url rule.
    """
    prepared = session.prepare_request(requests.Request("POST", url, data=data, headers=headers))
    problem = api_url.problem(url) or api_url.problem(prepared.url or "")
    if problem is not None:
        raise UnsafeUrl(problem)
    deadline = time.monotonic() + timeout_s
    watch = WATCHDOG.watch(timeout_s)
    _current.watch = watch
    try:
        settings = session.merge_environment_settings(prepared.url, {}, True, None, None)
        if api_url.direct(prepared.url or url):
            settings["proxies"] = {}
        response = session.send(prepared, timeout=timeout_s, allow_redirects=False, **settings)
        with response:
            return _read(response, deadline, watch)
    except Exception:
        if watch.expired:  # whatever broke, it broke because the watchdog shut the socket
            raise WholeRequestTimeout(f"no complete answer within {timeout_s:g} s") from None
        raise
    finally:
        _current.watch = None
        watch.finish()


def _read(response: requests.Response, deadline: float, watch: Watch) -> Answer:
    """The answer's body, up to ``MAX_ANSWER_BYTES``, before ``deadline``."""
    body = bytearray()
    truncated = False
    for chunk in response.iter_content(_CHUNK_BYTES):
        body += chunk
        if len(body) > MAX_ANSWER_BYTES:
            del body[MAX_ANSWER_BYTES:]
            truncated = True
            break
        if time.monotonic() > deadline:
            watch.expired = True
            break
    if watch.expired:
        raise WholeRequestTimeout("no complete answer in time")
    return Answer(response.status_code, response.headers, bytes(body), truncated)
