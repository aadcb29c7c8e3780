"""Requests in flight at once (``max_concurrent_requests``) keep every guarantee of delivery.

Against the fake server ~0.4 s away, so requests really overlap: one outcome per payload in
order, the first request alone, a refused token stopping after one request, one request at a
time while TikTok throttles, splitting; and ``InFlight`` itself, with threads. The server's
timeline (what it was handling, in order) is the evidence; no test asserts a duration.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from support.helpers import TOKEN
from support.tiktok_server import FakeTikTok, HttpStatus, payload

from tiktok_destination.delivery.deliverer import Deliverer, DeliveryConfig
from tiktok_destination.delivery.in_flight import InFlight, Workers

LATENCY_S = 0.4


@pytest.fixture
def distant() -> Iterator[FakeTikTok]:
    with FakeTikTok(TOKEN, latency_s=LATENCY_S) as server:
        yield server


def deliverer(server: FakeTikTok, **config: Any) -> Deliverer:
    settings: dict[str, Any] = {"access_token": TOKEN, "api_url": server.url, "timeout_s": 10.0}
    return Deliverer(
        DeliveryConfig(**{**settings, **config}), sleep=lambda _s: None, random=lambda: 0.5
    )


def in_flight_at_arrival(server: FakeTikTok) -> dict[int, int]:
    """For each request, how many others the server was handling when it arrived."""
    current, seen = 0, {}
    for kind, number in server.timeline:
        if kind == "in":
            seen[number] = current
        current += 1 if kind == "in" else -1
    return seen


def test_many_requests_overlap_and_every_payload_gets_its_outcome_in_order(
    distant: FakeTikTok,
) -> None:
    payloads = [payload(f"e{n}") for n in range(50)]
    with deliverer(distant, batch_size=5, max_concurrent_requests=4) as sender:
        outcomes = sender.send(payloads)
    assert [o["status"] for o in outcomes] == ["delivered"] * 50
    by_request_id: dict[Any, set[str]] = {}
    for n, outcome in enumerate(outcomes):  # each outcome is its own request's, in order
        by_request_id.setdefault(outcome["request_id"], set()).add(f"e{n}")
    assert {frozenset(ids) for ids in by_request_id.values()} == {
        frozenset(r.event_ids) for r in distant.requests
    }
    assert sorted(distant.event_ids) == sorted(f"e{n}" for n in range(50))
    assert 2 <= distant.most_in_flight() <= 4
    assert distant.timeline[:2] == [("in", 0), ("out", 0)]  # the first request went alone


def test_one_request_at_a_time_when_set_to_one(distant: FakeTikTok) -> None:
    with deliverer(distant, batch_size=5, max_concurrent_requests=1) as sender:
        outcomes = sender.send([payload(f"e{n}") for n in range(15)])
    assert [o["status"] for o in outcomes] == ["delivered"] * 15
    assert distant.most_in_flight() == 1


def test_a_refused_token_stops_after_the_first_request(distant: FakeTikTok) -> None:
    config = {"batch_size": 2, "max_concurrent_requests": 8}
    with deliverer(distant, **{**config, "access_token": "refused-token"}) as sender:
        outcomes = sender.send([payload(f"e{n}") for n in range(20)])
    assert len(distant.requests) == 1
    assert [o["status"] for o in outcomes] == ["failed"] * 20
    assert outcomes[0]["code"] == 40105 and "access_token" in outcomes[0]["message"]
    assert outcomes[1]["message"] == outcomes[0]["message"]  # the same batch
    for outcome in outcomes[2:]:
        assert outcome["message"].startswith("not sent: delivery stopped:")
        assert "refused-token" not in outcome["message"]


def test_one_request_at_a_time_while_tiktok_throttles(distant: FakeTikTok) -> None:
    # Request 0 opens the slots; the four that follow are in flight together and all throttled.
    distant.policy = lambda number, _body: HttpStatus(429, "0") if 1 <= number <= 4 else None
    with deliverer(distant, batch_size=1, max_concurrent_requests=4) as sender:
        outcomes = sender.send([payload(f"e{n}") for n in range(10)])
    assert [o["status"] for o in outcomes] == ["delivered"] * 10
    assert sorted(distant.event_ids) == sorted(f"e{n}" for n in range(10))
    alongside = in_flight_at_arrival(distant)
    assert max(alongside[n] for n in range(1, 5)) >= 1  # the throttled ones overlapped
    answers = [(kind, number) for kind, number in distant.timeline if kind == "out"]
    throttled_out = distant.timeline.index(("out", 1))
    ok_after = next(
        distant.timeline.index(("out", number))
        for _kind, number in answers
        if number > 4 and distant.timeline.index(("out", number)) > throttled_out
    )
    between = distant.timeline[throttled_out:ok_after]
    started = [number for kind, number in between if kind == "in"]
    assert started, "a request was retried after the throttling"
    assert all(alongside[number] == 0 for number in started)  # each went alone
    assert distant.most_in_flight() >= 2  # and the slots opened again


def test_splitting_still_finds_the_bad_events(distant: FakeTikTok) -> None:
    distant.bad_event_ids = {"e3", "e17"}
    with deliverer(distant, batch_size=8, max_concurrent_requests=4) as sender:
        outcomes = sender.send([payload(f"e{n}") for n in range(24)])
    statuses = [o["status"] for o in outcomes]
    assert statuses == ["rejected" if n in (3, 17) else "delivered" for n in range(24)]
    assert sorted(distant.event_ids) == sorted(f"e{n}" for n in range(24) if n not in (3, 17))


def _holds_slot(limits: InFlight, entered: threading.Event, leave: threading.Event) -> None:
    with limits.slot():
        entered.set()
        leave.wait(10)


def test_in_flight_opens_after_an_accepted_answer_and_closes_after_one_to_retry() -> None:
    limits = InFlight(3)
    assert limits.limit == 1
    leave = threading.Event()
    first, second, third = threading.Event(), threading.Event(), threading.Event()
    threads = [
        threading.Thread(target=_holds_slot, args=(limits, entered, leave), daemon=True)
        for entered in (first, second, third)
    ]
    threads[0].start()
    assert first.wait(5)
    threads[1].start()
    assert not second.wait(0.3)  # one slot until TikTok accepts a request
    limits.answered(True)
    assert second.wait(5)
    assert limits.limit == 3
    limits.answered(False)  # TikTok throttles: one at a time again
    threads[2].start()
    assert not third.wait(0.3)
    limits.answered(True)
    assert third.wait(5)
    leave.set()
    for thread in threads:
        thread.join(5)


class LateGate:
    """A shared gate whose answer for the second request comes after the first was refused."""

    def __init__(self) -> None:
        self.calls = 0
        self.stops: list[str] = []

    def before_request(self) -> str | None:
        self.calls += 1
        if self.calls == 2:
            time.sleep(LATENCY_S * 2)  # the first request is answered (and refused) meanwhile
        return None  # the shared stop is not written yet

    def replied(self, code: int | None, seconds: float) -> None:
        pass

    def throttled(self, seconds: float) -> None:
        pass

    def stop(self, reason: str) -> None:
        self.stops.append(reason)


def test_a_late_gate_answer_does_not_undo_a_refused_token(distant: FakeTikTok) -> None:
    """A gate saying "go on" after the token was refused must not clear the deliverer's stop."""
    config = DeliveryConfig(
        "refused-token",
        api_url=distant.url,
        timeout_s=10.0,
        batch_size=2,
        max_concurrent_requests=2,
    )
    gate = LateGate()
    with Deliverer(config, gate=gate, sleep=lambda _s: None, random=lambda: 0.5) as sender:
        outcomes = sender.send([payload(f"e{n}") for n in range(4)])
    assert gate.calls == 2 and len(gate.stops) == 1
    assert len(distant.requests) == 1
    assert outcomes[2]["message"].startswith("not sent: delivery stopped:")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_sending_thread_never_takes_a_stop_signal(signum: int) -> None:
    """A stop signal that reaches a sending thread stays blocked there: it is never handled on
    that thread's behalf (Python would run the handler in the main thread only once the main
    thread's wait for the jobs ends, too late to stop anything). The kernel gives a signal sent
    to the process to a thread that does not block it: with the workers blocking both, that is
    the main thread, which ``signals.held()`` can hold back while it records an outcome."""
    taken: list[int] = []
    previous = signal.signal(signum, lambda number, _frame: taken.append(number))
    try:
        with Workers(3, "test-send") as workers:

            def aimed_at_this_thread() -> bool:
                signal.pthread_kill(threading.get_ident(), signum)
                return signum in signal.sigpending()  # blocked, so still pending

            jobs = [workers.submit(aimed_at_this_thread) for _ in range(6)]
            assert [job.result(timeout=10) for job in jobs] == [True] * 6
        assert taken == []
    finally:
        signal.signal(signum, previous)
