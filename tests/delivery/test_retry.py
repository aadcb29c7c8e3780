"""The retry decision, the delay and the loop, each alone, from tables of cases."""

from __future__ import annotations

import email.utils
import http.client
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import requests
import urllib3.exceptions

from tiktok_destination.delivery.retry import (
    Decision,
    backoff_delay,
    decide,
    retry_after_seconds,
    retry_loop,
)

SUCCESS, RETRY, SPLIT, CONFIG, FAIL = (
    Decision.SUCCESS,
    Decision.RETRY,
    Decision.SPLIT,
    Decision.CONFIG,
    Decision.FAIL,
)


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (200, 0, SUCCESS),
        (200, 40100, RETRY),
        (200, 40132, RETRY),
        (200, 61000, RETRY),
        (200, 50000, RETRY),
        (200, 50002, RETRY),
        (200, 59999, RETRY),
        (200, 40001, CONFIG),
        (200, 40102, CONFIG),
        (200, 40104, CONFIG),
        (200, 40105, CONFIG),
        (200, 40000, SPLIT),
        (200, 40002, SPLIT),
        (200, 40003, FAIL),
        (200, 40010, FAIL),
        (200, 60000, FAIL),
        (200, 49999, FAIL),
        (200, -1, FAIL),
        (200, None, RETRY),  # not JSON, or no integer code: treated as transient
        (204, None, RETRY),
        (429, None, RETRY),
        (429, 40100, RETRY),
        (408, None, RETRY),
        (500, None, RETRY),
        (502, None, RETRY),
        (503, None, RETRY),
        (504, None, RETRY),
        (599, None, RETRY),
        (503, 40105, RETRY),  # the status says transient whatever the body says
        (501, None, FAIL),
        (400, None, FAIL),
        (404, None, FAIL),
        (301, None, FAIL),
        (401, None, CONFIG),
        (403, None, CONFIG),
        (401, 40105, CONFIG),
        (400, 40002, SPLIT),  # a non-2xx answer that carries a TikTok code: the code decides
        (403, 40001, CONFIG),
        (401, 0, CONFIG),  # code 0 on an error status is not a success
        (400, 0, FAIL),
    ],
)
def test_decide_on_answers(status: int, code: int | None, expected: Decision) -> None:
    assert decide(status, code) is expected


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (requests.ConnectionError("refused"), RETRY),
        (requests.ConnectTimeout("slow connect"), RETRY),
        (requests.ReadTimeout("slow answer"), RETRY),
        (requests.Timeout("timeout"), RETRY),
        (requests.exceptions.ChunkedEncodingError("cut off"), RETRY),
        (requests.exceptions.ContentDecodingError("garbled"), RETRY),
        (requests.exceptions.ProxyError("proxy down"), RETRY),
        (urllib3.exceptions.ProtocolError("reset"), RETRY),
        (http.client.RemoteDisconnected("gone"), RETRY),
        (ConnectionResetError("reset"), RETRY),
        (TimeoutError("timed out"), RETRY),
        (requests.exceptions.SSLError("certificate verify failed"), FAIL),
        (requests.exceptions.InvalidURL("bad url"), FAIL),
        (requests.exceptions.MissingSchema("no scheme"), FAIL),
        (requests.exceptions.TooManyRedirects("loop"), FAIL),
        (ValueError("bug"), FAIL),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value),
)
def test_decide_on_errors(error: BaseException, expected: Decision) -> None:
    assert decide(None, None, error) is expected


def test_decide_without_answer_or_error_gives_up() -> None:
    assert decide(None, None) is FAIL


@pytest.mark.parametrize(
    ("retry", "random_value", "expected"),
    [
        (0, 0.0, 0.25),  # base 0.5 s: between half and all of it
        (0, 1.0, 0.5),
        (0, 0.5, 0.375),
        (1, 0.0, 0.5),
        (1, 1.0, 1.0),
        (2, 1.0, 2.0),
        (3, 1.0, 4.0),
        (5, 1.0, 16.0),
        (6, 1.0, 30.0),  # capped at 30 s
        (6, 0.0, 15.0),
        (50, 1.0, 30.0),
        (10_000, 0.5, 22.5),  # no overflow for absurd retry numbers
    ],
)
def test_delay_grows_exponentially_with_jitter_and_a_cap(
    retry: int, random_value: float, expected: float
) -> None:
    assert backoff_delay(retry, lambda: random_value) == pytest.approx(expected)


def constant(value: float) -> Callable[[], float]:
    return lambda: value


@pytest.mark.parametrize("retry", range(12))
def test_delay_jitter_stays_within_bounds(retry: int) -> None:
    ceiling = min(30.0, 0.5 * 2**retry)
    for value in (0.0, 0.1, 0.37, 0.99, 1.0):
        assert ceiling / 2 <= backoff_delay(retry, constant(value)) <= ceiling
    low, mid, high = (backoff_delay(retry, constant(v)) for v in (0.1, 0.5, 0.9))
    assert low < mid < high  # the random value really moves the delay


@pytest.mark.parametrize(
    ("retry", "retry_after", "expected"),
    [
        (0, 7.0, 7.0),  # Retry-After is a floor ...
        (0, 0.0, 0.375),
        (5, 3.0, 12.0),  # ... not a ceiling
        (0, 45.0, 45.0),
        (0, 3600.0, 60.0),  # capped: a broken header must not stall delivery for an hour
    ],
)
def test_delay_honours_retry_after(retry: int, retry_after: float, expected: float) -> None:
    assert backoff_delay(retry, lambda: 0.5, retry_after) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7.0),
        (" 12 ", 12.0),
        ("0", 0.0),
        (None, None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("", None),
    ],
)
def test_retry_after_seconds(header: str | None, expected: float | None) -> None:
    assert retry_after_seconds(header) == expected


def test_retry_after_as_http_date() -> None:
    in_two_minutes = email.utils.formatdate(time.time() + 120, usegmt=True)
    seconds = retry_after_seconds(in_two_minutes)
    assert seconds is not None and 110 <= seconds <= 121
    assert backoff_delay(0, lambda: 0.5, seconds) == 60.0
    yesterday = email.utils.formatdate(time.time() - 86400, usegmt=True)
    assert retry_after_seconds(yesterday) == 0.0


@dataclass(frozen=True)
class FakeAttempt:
    decision: Decision
    retry_after: float | None = None
    problem: str = ""


class Script:
    """Plays a list of attempt results; records which attempt numbers were asked for."""

    def __init__(self, *results: FakeAttempt) -> None:
        self.results = list(results)
        self.calls: list[int] = []

    def __call__(self, attempt: int) -> FakeAttempt:
        self.calls.append(attempt)
        return self.results[min(attempt, len(self.results) - 1)]


@pytest.mark.parametrize("final", [SUCCESS, SPLIT, CONFIG, FAIL])
def test_loop_stops_at_the_first_answer_that_is_not_retry(final: Decision) -> None:
    script = Script(FakeAttempt(RETRY), FakeAttempt(RETRY), FakeAttempt(final, problem="last"))
    sleeps: list[float] = []
    result, attempts = retry_loop(script, max_retries=5, sleep=sleeps.append, random=lambda: 1.0)
    assert (result.decision, result.problem, attempts) == (final, "last", 3)
    assert script.calls == [0, 1, 2]
    assert sleeps == [0.5, 1.0]


def test_loop_without_trouble_never_sleeps() -> None:
    sleeps: list[float] = []
    script = Script(FakeAttempt(SUCCESS))
    assert retry_loop(script, max_retries=5, sleep=sleeps.append, random=lambda: 0.0)[1] == 1
    assert sleeps == []


@pytest.mark.parametrize("max_retries", [0, 1, 3, 10])
def test_loop_stops_at_max_retries_and_returns_the_last_problem(max_retries: int) -> None:
    results = [FakeAttempt(RETRY, problem=f"problem {n}") for n in range(max_retries + 1)]
    script = Script(*results, FakeAttempt(SUCCESS))
    sleeps: list[float] = []
    told: list[tuple[str, int, float]] = []
    result, attempts = retry_loop(
        script,
        max_retries=max_retries,
        sleep=sleeps.append,
        random=lambda: 0.0,
        on_retry=lambda r, retry, delay: told.append((r.problem, retry, delay)),
    )
    assert attempts == max_retries + 1 == len(script.calls)
    assert result.decision is RETRY and result.problem == f"problem {max_retries}"
    expected = [backoff_delay(n, lambda: 0.0) for n in range(max_retries)]
    assert sleeps == expected
    assert told == [(f"problem {n}", n, expected[n]) for n in range(max_retries)]


def test_loop_sleeps_at_least_what_the_server_asked() -> None:
    script = Script(FakeAttempt(RETRY, retry_after=9.0), FakeAttempt(RETRY), FakeAttempt(SUCCESS))
    sleeps: list[float] = []
    retry_loop(script, max_retries=5, sleep=sleeps.append, random=lambda: 0.0)
    assert sleeps == [9.0, 0.5]


def test_every_row_of_the_failure_table_is_reached_by_its_own_kinds() -> None:
    """No row of ``failures.FAILURES`` is shadowed by an earlier one."""
    from tiktok_destination.delivery.failures import FAILURES, failure

    for row in FAILURES:
        for kind in row.kinds:
            assert failure(kind.__new__(kind)) is row, kind


@pytest.mark.parametrize(
    ("error", "decision", "words"),
    [
        (
            requests.exceptions.SSLError(),
            Decision.FAIL,
            "TLS handshake or certificate verification with tiktok.example:443 failed",
        ),
        (
            requests.ConnectTimeout(),
            Decision.RETRY,
            "could not connect within 2.5 s to tiktok.example:443",
        ),
        (requests.ReadTimeout(), Decision.RETRY, "no answer within 2.5 s from tiktok.example:443"),
        (requests.Timeout(), Decision.RETRY, "timed out"),
        (requests.exceptions.ChunkedEncodingError(), Decision.RETRY, "the answer was cut off"),
        (
            requests.ConnectionError(),
            Decision.RETRY,
            "the connection to tiktok.example:443 failed or was dropped before an answer",
        ),
        (urllib3.exceptions.ProtocolError("x"), Decision.RETRY, "the request could not be made"),
        (TimeoutError(), Decision.RETRY, "the request could not be made"),
        (ValueError("x"), Decision.FAIL, "the request could not be made"),
    ],
)  # fmt: skip
def test_an_exception_means_one_decision_and_one_set_of_words(
    error: BaseException, decision: Decision, words: str
) -> None:
    """``failures.FAILURES`` read by both the retry decision and the user's message."""
    from tiktok_destination.delivery.messages import error_text

    assert decide(None, None, error) is decision
    url = "https://tiktok.example/open_api/v1.3/event/track/"
    assert error_text(error, 2.5, url) == f"{type(error).__name__}: {words}"
