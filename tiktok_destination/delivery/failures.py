"""What an exception raised instead of TikTok's answer means: retry or not, and in which words.

One table (``FAILURES``), most specific first, read by both ``retry.decide`` and
``messages.error_text``: a kind of failure is added, or its meaning changed, in one row.
"""

from __future__ import annotations

import http.client
from typing import NamedTuple

import requests
import urllib3.exceptions

from tiktok_destination.facts import Decision


class Failure(NamedTuple):
    """What exceptions of ``kinds`` mean."""

    kinds: tuple[type[BaseException], ...]
    decision: Decision
    words: str
    """What went wrong, with ``{where}`` (host and port) and ``{timeout_s}`` to fill in."""


_DROPPED = "the connection to {where} failed or was dropped before an answer"
_NOT_MADE = "the request could not be made"

FAILURES = (
    # A certificate problem does not go away in seconds: not retried.
    Failure(
        (requests.exceptions.SSLError,),
        Decision.FAIL,
        "TLS handshake or certificate verification with {where} failed",
    ),
    Failure(
        (requests.ConnectTimeout,),
        Decision.RETRY,
        "could not connect within {timeout_s:g} s to {where}",
    ),
    Failure(
        (requests.ReadTimeout,), Decision.RETRY, "no answer within {timeout_s:g} s from {where}"
    ),
    Failure((requests.Timeout,), Decision.RETRY, "timed out"),
    Failure((requests.exceptions.ChunkedEncodingError,), Decision.RETRY, "the answer was cut off"),
    Failure((requests.ConnectionError,), Decision.RETRY, _DROPPED),
    Failure(
        (
            requests.exceptions.ContentDecodingError,
            urllib3.exceptions.ProtocolError,
            urllib3.exceptions.TimeoutError,
            http.client.HTTPException,
            ConnectionError,
            TimeoutError,
        ),
        Decision.RETRY,
        _NOT_MADE,
    ),
)
OTHER = Failure((), Decision.FAIL, _NOT_MADE)
"""Any other exception: not transient, given up."""


def failure(error: BaseException) -> Failure:
    """The first row of ``FAILURES`` that ``error`` is a kind of, else ``OTHER``."""
    for row in FAILURES:
        if isinstance(error, row.kinds):
            return row
    return OTHER
