"""When to retry a request to TikTok, how long to wait, and the loop that does it.

Three separate pieces, each testable alone:

- ``decide``: what an HTTP status, a TikTok body ``code`` (read in ``facts.CODES``) or a
  transport error (``failures.FAILURES``) means (success, retry, split the batch, stop on a
  configuration error, or give up);
- ``backoff_delay``: exponential backoff with jitter, capped, honouring ``Retry-After``;
- ``retry_loop``: calls an attempt until it is not to be retried or the budget is spent.

No I/O here: the loop sleeps through the ``sleep`` it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

import urllib3.exceptions
from urllib3.util import Retry

from tiktok_destination import facts
from tiktok_destination.delivery.failures import failure
from tiktok_destination.facts import Decision

__all__ = ["Decision", "backoff_delay", "decide", "retry_after_seconds", "retry_loop"]


RETRY_STATUSES = frozenset({408, 429})
"""HTTP statuses retried besides 5xx (501 Not Implemented excepted)."""
CONFIG_STATUSES = frozenset({401, 403})


def decide(
    status: int | None, body_code: int | None, error: BaseException | None = None
) -> Decision:
    """What to do after one attempt.

    :param status: the HTTP status, ``None`` when no response came.
    :param body_code: the integer ``code`` of TikTok's JSON answer, ``None`` when the body had
        none (not JSON, or no integer ``code``).
    :param error: the exception raised instead of a response, if any.

    What an exception means is ``failures.FAILURES``; a 2xx answer without a TikTok ``code`` is
    treated as transient.
    """
    if error is not None:
        return failure(error).decision
    if status is None:
        return Decision.FAIL
    if 200 <= status < 300:
        return Decision.RETRY if body_code is None else facts.code(body_code).decision
    if status in RETRY_STATUSES or (500 <= status < 600 and status != 501):
        return Decision.RETRY
    if body_code is not None and body_code != 0:
        return facts.code(body_code).decision
    if status in CONFIG_STATUSES:
        return Decision.CONFIG
    return Decision.FAIL


BASE_DELAY_S = 0.5
MAX_DELAY_S = 30.0
MAX_RETRY_AFTER_S = 60.0
_PARSER = Retry(0)


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delay in seconds or an HTTP-date).

    ``None`` when the header is absent or unreadable; a date in the past gives 0.
    """
    if value is None:
        return None
    try:
        return max(0.0, float(_PARSER.parse_retry_after(value.strip())))
    except (urllib3.exceptions.InvalidHeader, ValueError, OverflowError):
        return None


def backoff_delay(
    retry: int,
    random: Callable[[], float],
    retry_after: float | None = None,
    *,
    base: float = BASE_DELAY_S,
    cap: float = MAX_DELAY_S,
    retry_after_cap: float = MAX_RETRY_AFTER_S,
) -> float:
    """Seconds to wait before retry number ``retry`` (0 for the first retry).

    Exponential (``base * 2**retry``, at most ``cap``) with equal jitter: between half and all
    of it, ``random()`` choosing where. A server's ``Retry-After`` is a floor, itself capped at
    ``retry_after_cap`` so that a hostile or broken header cannot stall delivery for hours.
    """
    ceiling = min(cap, base * 2.0 ** min(max(retry, 0), 64))
    delay = ceiling / 2 + ceiling / 2 * min(max(random(), 0.0), 1.0)
    if retry_after is not None:
        delay = max(delay, min(retry_after, retry_after_cap))
    return delay


class Attempt(Protocol):
    """What ``retry_loop`` needs to know about the result of one attempt."""

    @property
    def decision(self) -> Decision: ...

    @property
    def retry_after(self) -> float | None: ...


A = TypeVar("A", bound=Attempt)


def retry_loop(
    attempt: Callable[[int], A],
    *,
    max_retries: int,
    sleep: Callable[[float], None],
    random: Callable[[], float],
    on_retry: Callable[[A, int, float], None] | None = None,
) -> tuple[A, int]:
    """Call ``attempt(n)`` (n = 0, 1, ...) until its decision is not ``RETRY`` or the budget ends.

    At most ``max_retries + 1`` calls, with ``sleep(backoff_delay(...))`` between them;
    ``on_retry(result, retry, delay)`` is told before each sleep. Returns the last result and
    the number of calls; a last result still marked ``RETRY`` means the budget ran out.
    """
    retry = 0
    while True:
        result = attempt(retry)
        if result.decision is not Decision.RETRY or retry >= max_retries:
            return result, retry + 1
        delay = backoff_delay(retry, random, result.retry_after)
        if on_retry is not None:
            on_retry(result, retry, delay)
        sleep(delay)
        retry += 1
