"""Deliver transform payloads to TikTok: group, batch, post, retry, split; one outcome each.

Payloads are merged into requests by the rule of ``batching``. Each request goes through
``retry.retry_loop``; a parameter error splits the batch in halves until the offending events
stand alone; a configuration error (token, permission) stops this deliverer, and a refused token
stops every deliverer sharing the ``RefusedTokens`` memory. An optional ``Gate`` shares a
throttling pause and a stop with deliverers in other processes (the Redis workers).
Up to ``max_concurrent_requests`` requests are in flight at once (``in_flight.InFlight``: the
first goes alone, and one at a time again while TikTok throttles or fails).
``send`` is ``prepare`` (the requests' bodies encoded, in the caller's thread) then ``deliver``
(bytes posted); ``tiktok-destination send`` calls the two in different threads.
Every payload gets exactly one ``SendOutcome``, in input order. The access token is only ever
put in the ``Access-Token`` header: never in logs, outcomes, exceptions or reprs.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Protocol

import requests

from tiktok_destination import api_url, facts
from tiktok_destination.delivery import batching, bounded_http
from tiktok_destination.delivery.batching import Batch, Key
from tiktok_destination.delivery.in_flight import InFlight, Workers
from tiktok_destination.delivery.messages import config_problem, error_text, token_problem
from tiktok_destination.delivery.retry import (
    Decision,
    backoff_delay,
    decide,
    retry_after_seconds,
    retry_loop,
)
from tiktok_destination.outcomes import SendOutcome, send_outcome
from tiktok_destination.quoting import SERVER_TEXT_CHARS, kind, redact, server_id, server_text
from tiktok_destination.settings import DeliveryConfig

__all__ = ["Deliverer", "DeliveryConfig", "Gate", "Prepared", "RefusedTokens", "Request"]

log = logging.getLogger("tiktok_destination")

NOT_A_PAYLOAD = "not a transform payload"
MAX_EVENT_BYTES = facts.MAX_REQUEST_BYTES - 1024
"""Bytes of events one request carries at most, its other fields allowed for."""
SNIPPET_CHARS = 200
"""Characters of an answer that is not TikTok's JSON quoted in a message."""
REQUEST_ID_CHARS = 64
"""Characters of TikTok's request_id kept at most (TikTok's are about 30); a longer or odd one
(spaces, ``@``, the token) is dropped, not copied into every outcome of the batch."""
Status = Literal["delivered", "rejected", "failed"]


class RefusedTokens(Protocol):
    """Tokens TikTok refused, shared by every deliverer of the process (see ``state``)."""

    def refused(self, token: str, api_url: str) -> str | None:
        """Why TikTok refused ``token`` at ``api_url``, or ``None``."""

    def remember(self, token: str, api_url: str, message: str) -> None:
        """Record that TikTok refused ``token`` at ``api_url``, and why."""


class Gate(Protocol):
    """A throttling pause and a stop shared with other deliverers, in other processes too.

    A deliverer given a gate asks it before each request and tells it what happened.
    """

    def before_request(self) -> str | None:
        """Wait while sending is paused; then why sending must stop, or ``None`` to go on."""

    def replied(self, code: int | None, seconds: float) -> None:
        """A request took ``seconds`` and was answered with ``code`` (``_Reply.outcome_code``)."""

    def throttled(self, seconds: float) -> None:
        """TikTok asked to slow down: nobody should send for ``seconds``."""

    def stop(self, reason: str) -> None:
        """TikTok refused the settings: nobody should send with them; ``reason`` says why."""


@dataclass(frozen=True)
class _Reply:
    """One attempt, read: what to do next and what to tell the user."""

    decision: Decision
    problem: str
    status: int | None = None
    code: int | None = None
    message: str = ""
    request_id: str | None = None
    retry_after: float | None = None

    @property
    def outcome_code(self) -> int | None:
        """TikTok's body code, else a non-2xx HTTP status, else ``None``."""
        if self.code is not None:
            return self.code
        return self.status if self.status is not None and not 200 <= self.status < 300 else None


class _Stopped(Exception):
    """Delivery stopped while a request waited for its slot: it is not sent."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _dumps(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON. A value holding itself is no JSON: it raises
    ``RecursionError`` (not checked for on the way, which took a tenth of the time)."""
    return json.dumps(
        value, separators=(",", ":"), ensure_ascii=False, allow_nan=False, check_circular=False
    ).encode()


def _events_json(batch: Batch) -> bytes:
    """The JSON array of a batch's events (``_batches`` encoded it already)."""
    return batch.data if batch.data is not None else _dumps(batch.events)


def _body(head: dict[str, str], events: bytes) -> bytes:
    """A request's body: its ``head`` fields, then ``data``, the JSON array ``events``."""
    return _dumps(head)[:-1] + b',"data":' + events + b"}"


@dataclass(frozen=True)
class Request:
    """One request to make: its group, the input positions of its events, and its body."""

    key: Key
    indices: list[int]
    body: bytes

    def halves(self) -> tuple[Request, Request]:
        """The two requests this one splits into (``Batch.halves``), their events read back
        from the body: the payloads themselves are not kept."""
        first, second = Batch(self.key, self.indices, json.loads(self.body)["data"]).halves()
        return _request(first), _request(second)


def _request(batch: Batch) -> Request:
    return Request(batch.key, batch.indices, _body(batch.head, _events_json(batch)))


@dataclass(frozen=True)
class Prepared:
    """Payloads made into requests by ``Deliverer.prepare``, for ``Deliverer.deliver``: the
    outcomes already known (payloads rejected before any request) and the requests to make."""

    outcomes: list[SendOutcome | None]
    requests: list[Request]


def bug_message(error: BaseException) -> str:
    """The outcome message of events a bug in the destination kept from being sent (it names
    the exception's class only: its text could quote settings)."""
    return f"not sent: unexpected {type(error).__name__} in the destination"


def _fail_unanswered(
    error: BaseException, doing: str, outcomes: list[SendOutcome | None], indices: Iterable[int]
) -> None:
    """After a bug while ``doing``: each event of ``indices`` without an outcome yet fails
    (an outcome of its own each)."""
    log.error("unexpected %s while %s", type(error).__name__, doing)
    message = bug_message(error)
    for index in indices:
        if outcomes[index] is None:
            outcomes[index] = send_outcome("failed", message)


def _too_big(size: int) -> str:
    return (
        f"not sent: the event takes {size / 2**20:.1f} MB as JSON, more than the "
        f"{facts.MAX_REQUEST_BYTES / 2**20:g} MB one request may carry; send less data with it"
    )


def _read_payload(payload: object) -> tuple[Key, Any] | str:
    """The group key and the one event of a transform payload, or why it is not one."""
    if not isinstance(payload, dict):
        return f"{NOT_A_PAYLOAD}: expected an object, got {kind(payload)}"
    data = payload.get("data")
    if not isinstance(data, list) or len(data) != 1 or not isinstance(data[0], dict):
        return f"{NOT_A_PAYLOAD}: data must be a list holding exactly one event object"
    source, source_id = payload.get("event_source"), payload.get("event_source_id")
    if not isinstance(source, str) or not isinstance(source_id, str):
        return f"{NOT_A_PAYLOAD}: event_source and event_source_id must be strings"
    test_code = payload.get("test_event_code")
    if test_code is not None and not isinstance(test_code, str):
        return f"{NOT_A_PAYLOAD}: test_event_code must be a string"
    return batching.group_key(payload), data[0]


class Deliverer:
    """Sends payloads for one set of settings over one reused HTTP session.

    After a configuration error (refused token, missing permission) it sends nothing more:
    ``stopped`` holds the message, and every later payload is ``failed`` with it.
    Several threads may call ``send`` at once: each call has its own outcomes, and they share
    the session's connection pool.
    """

    def __init__(
        self,
        config: DeliveryConfig,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = random.random,
        refused_tokens: RefusedTokens | None = None,
        gate: Gate | None = None,
    ) -> None:
        self.config = config
        self._own_session = session is None
        self._session = (
            bounded_http.new_session(config.max_concurrent_requests) if session is None else session
        )
        self._in_flight = InFlight(config.max_concurrent_requests)
        self._sleep = sleep
        self._random = random
        self._refused_tokens = refused_tokens
        self._gate = gate
        self._headers = facts.request_headers(config.access_token)
        url_problem = api_url.problem(config.api_url)
        self._stopped = token_problem(config.access_token) or (
            f"api_url: {url_problem}" if url_problem else None
        )

    @property
    def stopped(self) -> str | None:
        """Why this deliverer stopped sending (a configuration error), or ``None``."""
        if self._stopped is None and self._refused_tokens is not None:
            return self._refused_tokens.refused(self.config.access_token, self.config.api_url)
        return self._stopped

    def __repr__(self) -> str:
        return f"Deliverer(config={self.config!r}, stopped={self._stopped!r})"

    def __enter__(self) -> Deliverer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session (unless it was given by the caller)."""
        if self._own_session:
            self._session.close()

    def plan(self, payloads: Sequence[object]) -> list[dict[str, Any]]:
        """The request bodies ``send`` would post first (before any split), in order."""
        outcomes: list[SendOutcome | None] = [None] * len(payloads)
        return [batch.body() for batch in self._batches(payloads, outcomes)]

    def shown_requests(self, payloads: Sequence[object]) -> list[dict[str, Any]]:
        """The requests ``send`` would make first, as ``--dry-run`` shows them: token redacted."""
        return [
            {
                "method": "POST",
                "url": self.config.api_url,
                "headers": facts.request_headers(facts.REDACTED),
                "json": body,
            }
            for body in self.plan(payloads)
        ]

    def send(self, payloads: Sequence[object]) -> list[SendOutcome]:
        """One outcome per payload, in the same order."""
        return self.deliver(self.prepare(payloads))

    def prepare(self, payloads: Sequence[object]) -> Prepared:
        """The requests ``payloads`` make, each body encoded, ready for ``deliver``.

        Done in the thread that made the payloads (``send``'s reading thread), the threads
        that post only handle bytes; the payloads are not kept. Never raises: a bug fails
        every payload still without an outcome."""
        outcomes: list[SendOutcome | None] = [None] * len(payloads)
        try:
            requests = [_request(batch) for batch in self._batches(payloads, outcomes)]
        except Exception as error:  # a bug must not lose the payloads: each one gets an outcome
            _fail_unanswered(error, "preparing requests", outcomes, range(len(outcomes)))
            return Prepared(outcomes, [])
        return Prepared(outcomes, requests)

    def deliver(self, prepared: Prepared) -> list[SendOutcome]:
        """Post the requests of ``prepared`` (once): one outcome per payload, in order."""
        outcomes = prepared.outcomes
        requests = prepared.requests
        threads = min(self.config.max_concurrent_requests, len(requests))
        if threads <= 1:
            for request in requests:
                self._deliver_safely(request, outcomes)
        else:
            with Workers(threads, "tiktok-send") as workers:
                jobs = [
                    workers.submit(functools.partial(self._deliver_safely, request, outcomes))
                    for request in requests
                ]
            try:
                for job in jobs:
                    job.result()
            except BaseException:  # interrupted: what has not started will not start
                for job in jobs:
                    job.cancel()
                raise
        return [
            outcome if outcome is not None else send_outcome("failed", "not sent: no outcome")
            for outcome in outcomes
        ]

    def _deliver_safely(self, request: Request, outcomes: list[SendOutcome | None]) -> None:
        try:
            self._deliver(request, outcomes)
        except Exception as error:  # a bug must not lose the outcomes already known
            _fail_unanswered(error, "delivering a batch", outcomes, request.indices)

    def _batches(
        self, payloads: Sequence[object], outcomes: list[SendOutcome | None]
    ) -> list[Batch]:
        """The requests to make, by count and bytes, each with its events' JSON; events that are
        no payload or no valid JSON are ``rejected`` here."""
        groups: dict[Key, tuple[list[int], list[Any]]] = {}
        """The input positions and the events of each group, in order."""
        for index, payload in enumerate(payloads):
            read = _read_payload(payload)
            if isinstance(read, str):
                outcomes[index] = send_outcome("rejected", read)
                continue
            key, event = read
            group = groups.get(key)
            if group is None:
                group = groups[key] = ([], [])
            group[0].append(index)
            group[1].append(event)
        found = []
        for key, (indices, events) in groups.items():
            runs = batching.runs(key, indices, events, self.config.batch_size)
            try:  # the usual case: each request's events encoded at once, within the bytes
                for run in runs:
                    run.data = _dumps(run.events)
            except (TypeError, ValueError, RecursionError):
                runs = []
            if runs and all(len(run.data or b"") <= MAX_EVENT_BYTES + 1 for run in runs):
                found += runs  # (one comma fewer than events, and the brackets)
            else:
                members = zip([key] * len(indices), indices, events, strict=True)
                found += self._by_bytes(list(members), outcomes)
        return found

    def _by_bytes(
        self, members: list[tuple[Key, int, Any]], outcomes: list[SendOutcome | None]
    ) -> list[Batch]:
        """The requests for ``members`` of one group, cut by count and by bytes, when together
        they do not fit or some event is no valid JSON (that one is ``rejected``)."""
        encoded: dict[int, bytes] = {}
        """Each event's JSON, by ``id`` of the event."""
        sendable = []
        for member in members:
            try:
                encoded[id(member[2])] = _dumps(member[2])
            except (TypeError, ValueError, RecursionError) as error:
                reason = self._redact(f"{type(error).__name__}: {error}")
                outcomes[member[1]] = send_outcome("rejected", f"not valid JSON ({reason})")
            else:
                sendable.append(member)
        found = batching.batches(
            sendable,
            self.config.batch_size,
            max_bytes=MAX_EVENT_BYTES,
            size_of=lambda event: len(encoded[id(event)]) + 1,  # and its comma
        )
        for batch in found:
            batch.data = b"[" + b",".join(encoded[id(event)] for event in batch.events) + b"]"
        return found

    def _deliver(self, request: Request, outcomes: list[SendOutcome | None]) -> None:
        stopped = self.stopped
        if stopped is None and self._gate is not None:
            stopped = self._gate.before_request()
            if stopped is not None:  # never back to None: another thread may have stopped us
                self._stopped = stopped
        if stopped is not None:
            self._fill(outcomes, request, "failed", f"not sent: delivery stopped: {stopped}")
            return
        data = request.body  # the one copy kept while it is sent
        n = len(request.indices)
        if len(data) > facts.MAX_REQUEST_BYTES:
            if n > 1:
                for half in request.halves():
                    self._deliver(half, outcomes)
            else:
                self._fill(outcomes, request, "rejected", _too_big(len(data)))
            return
        try:
            reply, attempts = retry_loop(
                lambda attempt: self._post(data, n, attempt, request.key),
                max_retries=self.config.max_retries,
                sleep=self._sleep,
                random=self._random,
                on_retry=lambda r, retry, delay: self._log_retry(n, r, retry, delay),
            )
        except _Stopped as stop:
            self._fill(outcomes, request, "failed", f"not sent: delivery stopped: {stop.reason}")
            return
        code = reply.outcome_code
        if reply.decision is Decision.SUCCESS:
            message = reply.message or "OK"
            self._fill(outcomes, request, "delivered", message, reply.code, reply.request_id)
        elif reply.decision is Decision.SPLIT and n > 1:
            log.info("%s for a batch of %d events: splitting it", reply.problem, n)
            for half in request.halves():
                self._deliver(half, outcomes)
        elif reply.decision is Decision.SPLIT:
            message = reply.message or reply.problem
            self._fill(outcomes, request, "rejected", message, code, reply.request_id)
        elif reply.decision is Decision.CONFIG:  # stopped already, in the request's slot
            message = self._stopped or reply.problem
            self._fill(outcomes, request, "failed", message, code, reply.request_id)
        else:
            retried = reply.decision is Decision.RETRY
            why = f"after {attempts} attempts" if retried else "(not retried)"
            message = f"not delivered {why}: {reply.problem}"
            log.warning("%d events %s", n, message)
            self._fill(outcomes, request, "failed", message, code, reply.request_id)

    def _log_retry(self, n: int, reply: _Reply, retry: int, delay: float) -> None:
        total = self.config.max_retries
        message = "TikTok request with %d events: %s; retry %d of %d in %.1f s"
        log.warning(message, n, reply.problem, retry + 1, total, delay)

    def _post(self, data: bytes, n: int, attempt: int, key: Any) -> _Reply:
        """One attempt, in a slot of ``InFlight``; not sent when delivery stopped meanwhile.

        A configuration error stops delivery before the slot is let go: a request waiting for
        the slot must not go out with a token TikTok just refused."""
        with self._in_flight.slot():
            stopped = self.stopped
            if stopped is not None:
                raise _Stopped(stopped)
            reply = self._gated(data, n, attempt)
            if reply.decision is Decision.CONFIG:
                self._stop(reply, key)
            self._in_flight.answered(reply.decision in (Decision.SUCCESS, Decision.SPLIT))
        return reply

    def _stop(self, reply: _Reply, key: Any) -> None:
        source, source_id, _ = key
        self._stopped = config_problem(reply.code, reply.problem, source, source_id)
        log.error("delivery stopped: %s", self._stopped)
        if self._refused_tokens is not None and facts.code(reply.outcome_code or 0).token_refused:
            config = self.config
            self._refused_tokens.remember(config.access_token, config.api_url, self._stopped)
        if self._gate is not None:
            self._gate.stop(self._stopped)

    def _gated(self, data: bytes, n: int, attempt: int) -> _Reply:
        if self._gate is None:
            return self._exchange(data, n, attempt)
        if attempt > 0:
            self._gate.before_request()  # waits out a shared pause; a stop acts from the next batch
        started = time.perf_counter()
        reply = self._exchange(data, n, attempt)
        self._gate.replied(reply.outcome_code, time.perf_counter() - started)
        if reply.status == facts.THROTTLE_STATUS or (
            reply.code is not None and facts.code(reply.code).throttles
        ):
            self._gate.throttled(backoff_delay(attempt, lambda: 1.0, reply.retry_after))
        return reply

    def _exchange(self, data: bytes, n: int, attempt: int) -> _Reply:
        url = self.config.api_url
        log.debug("POST %s: %d events, %d bytes, attempt %d", url, n, len(data), attempt + 1)
        try:
            answer = bounded_http.post(
                self._session, url, data, self._headers, self.config.timeout_s
            )
        except Exception as error:
            return _Reply(decide(None, None, error), error_text(error, self.config.timeout_s, url))
        status = answer.status
        retry_after = retry_after_seconds(answer.headers.get("Retry-After"))
        body = answer.json()
        code = body.get("code") if isinstance(body, dict) else None
        if not isinstance(code, int) or isinstance(code, bool):
            snippet = self._server_text(answer.text, SNIPPET_CHARS)
            kind = " with an answer that is not TikTok's JSON" if 200 <= status < 300 else ""
            problem = f"HTTP {status}{kind}" + (f" ({snippet})" if snippet else "")
            return _Reply(decide(status, None), problem, status, None, "", None, retry_after)
        message = self._server_text(str(body.get("message") or ""))
        request_id = body.get("request_id")
        if isinstance(request_id, str):
            request_id = server_id(request_id, self.config.access_token, REQUEST_ID_CHARS)
        else:
            request_id = None
        problem = f"TikTok code {code}" + (f": {message}" if message else "")
        if not 200 <= status < 300:
            problem = f"HTTP {status}, {problem}"
        return _Reply(decide(status, code), problem, status, code, message, request_id, retry_after)

    def _redact(self, text: str) -> str:
        return redact(text, self.config.access_token)

    def _server_text(self, text: str, limit: int = SERVER_TEXT_CHARS) -> str:
        return server_text(text, self.config.access_token, limit)

    @staticmethod
    def _fill(
        outcomes: list[SendOutcome | None],
        request: Request,
        status: Status,
        message: str,
        code: int | None = None,
        request_id: str | None = None,
    ) -> None:
        outcome = send_outcome(status, message, code, request_id)
        for index in request.indices:
            outcomes[index] = outcome.copy()  # each its own: a host may change one
