"""One watchdog thread for every exchange: each socket shut at its own deadline, never after
``finish``, no thread per exchange, nothing kept of finished ones, a forked child served too.

Real sockets (``socket.socketpair``) and real time, with short deadlines; every wait is bounded
and no test asserts a duration: only that a deadline never fires early and that a watch expires
before a bounded wait ends.
"""

from __future__ import annotations

import multiprocessing
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import requests
from support.hostile_server import HostileServer, Request, tiktok_ok

from tiktok_destination.delivery import bounded_http
from tiktok_destination.delivery.bounded_http import WholeRequestTimeout
from tiktok_destination.delivery.watchdog import WATCHDOG, Watch, Watchdog

WAIT_S = 10.0
LONG_S = 600.0
"""A deadline no test reaches."""


def wait_until(condition: Callable[[], bool], what: str, seconds: float = WAIT_S) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, f"still waiting for {what} after {seconds} s"
        time.sleep(0.01)


def is_shut(sock: socket.socket) -> bool:
    """Whether ``sock`` was shut (a read sees the end at once; an open one would block)."""
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False


@pytest.fixture
def pairs() -> Iterator[Callable[[], socket.socket]]:
    """Makes connected socket pairs (closed after the test); gives the side a watch attaches."""
    made: list[socket.socket] = []

    def pair() -> socket.socket:
        ours, theirs = socket.socketpair()
        made.extend([ours, theirs])
        return ours

    yield pair
    for sock in made:
        sock.close()


def expired(watch: Watch) -> Callable[[], bool]:
    return lambda: watch.expired


def watched(dog: Watchdog, seconds: float, sock: socket.socket) -> tuple[Watch, float]:
    """A watch of ``seconds`` with ``sock`` attached, and the earliest it may expire."""
    earliest = time.monotonic() + seconds
    watch = dog.watch(seconds)
    watch.attach(sock)
    return watch, earliest


def test_many_watches_each_expire_at_their_own_deadline(
    pairs: Callable[[], socket.socket],
) -> None:
    """Watches made from several threads: long ones first, then short ones, each sooner than
    the one before. Every short one expires (the thread does not sleep on to a deadline made
    earlier but due later), none before its deadline, and no long one with them."""
    dog = Watchdog(idle_s=3 * WAIT_S)  # (it would wake by then: no short one could wait so long)
    short: list[tuple[Watch, float, socket.socket]] = []
    long: list[tuple[Watch, socket.socket]] = []
    lock = threading.Lock()

    def make(seconds: float) -> None:
        sock = pairs()
        watch, earliest = watched(dog, seconds, sock)
        with lock:
            if seconds == LONG_S:
                long.append((watch, sock))
            else:
                short.append((watch, earliest, sock))

    for deadlines in ([LONG_S] * 10, [0.2 + 0.1 * n for n in range(10, 0, -1)]):
        makers = [threading.Thread(target=make, args=(seconds,)) for seconds in deadlines]
        for maker in makers:
            maker.start()
        for maker in makers:
            maker.join(WAIT_S)
        time.sleep(0.05)  # the thread goes back to sleep, until the earliest deadline it knows
    assert len(short) == len(long) == 10
    for watch, earliest, sock in short:
        wait_until(expired(watch), "a short deadline")
        assert time.monotonic() >= earliest  # not before its deadline
        assert is_shut(sock)
    assert not any(watch.expired or is_shut(sock) for watch, sock in long)
    for watch, _sock in long:
        watch.finish()


def test_a_finished_watch_never_shuts_its_socket(pairs: Callable[[], socket.socket]) -> None:
    """A kept-alive socket serves the next exchange: the deadline of the one before, finished,
    must not shut it."""
    dog = Watchdog(idle_s=0.2)
    kept = pairs()
    finished, _ = watched(dog, 0.2, kept)
    finished.finish()
    later, _ = watched(dog, 0.4, pairs())  # expires after the finished one's deadline
    wait_until(lambda: later.expired, "the later deadline")
    assert not finished.expired
    assert not is_shut(kept)


def test_a_socket_attached_after_the_deadline_is_shut_at_once(
    pairs: Callable[[], socket.socket],
) -> None:
    dog = Watchdog(idle_s=0.2)
    watch = dog.watch(0.05)
    wait_until(lambda: watch.expired, "the deadline")
    sock = pairs()
    watch.attach(sock)  # a connection made late: it must not outlive the deadline
    assert is_shut(sock)


def test_finished_watches_are_forgotten() -> None:
    """Memory stays flat: a thousand exchanges, each finished, leave almost nothing behind,
    though their deadlines are far away."""
    dog = Watchdog(idle_s=0.2)
    for _ in range(1000):
        dog.watch(LONG_S).finish()
    assert dog.watching() <= 1


def test_the_thread_ends_when_idle_and_starts_again(pairs: Callable[[], socket.socket]) -> None:
    dog = Watchdog(idle_s=0.1)
    dog.watch(0.05).finish()
    first = dog.thread
    assert first is not None
    first.join(WAIT_S)
    assert not first.is_alive() and dog.thread is None  # nothing to watch: it ended
    watch, _ = watched(dog, 0.05, sock := pairs())
    assert dog.thread is not None and dog.thread is not first
    wait_until(expired(watch), "a deadline after the thread ended")
    assert is_shut(sock)


def slow_ok(request: Request) -> Iterator[bytes | float]:
    yield 0.5
    yield tiktok_ok()


def test_one_thread_watches_every_exchange_in_flight() -> None:
    """Eight exchanges at once: no thread of their own for any of them, one watchdog thread."""
    results: list[int] = []
    with HostileServer(slow_ok) as server, bounded_http.new_session(8) as session:
        before = set(threading.enumerate())

        def post() -> None:
            answer = bounded_http.post(session, server.url, b"{}", {}, 30.0)
            results.append(answer.status)

        clients = [threading.Thread(target=post) for _ in range(8)]
        for client in clients:
            client.start()
        wait_until(lambda: len(server.requests) == 8, "eight requests at the server")
        during = set(threading.enumerate()) - before - set(clients)
        watchdog = WATCHDOG.thread
        for client in clients:
            client.join(WAIT_S)
        accepted = server.accepted
    assert results == [200] * 8
    assert watchdog is not None and watchdog.is_alive()
    assert not any(isinstance(thread, threading.Timer) for thread in during)
    # besides the watchdog (when it started now), only the server's: one per connection
    assert len(during - {watchdog}) == accepted == 8


def test_a_deadline_never_cuts_the_next_exchange_on_a_kept_alive_connection() -> None:
    """The first exchange, finished quickly, had a short deadline; the second, on the same
    connection, takes longer than that and must still be answered."""
    answers: Iterator[list[bytes | float]] = iter([[tiktok_ok()], [0.8, tiktok_ok()]])
    with (
        HostileServer(lambda request: iter(next(answers))) as server,
        bounded_http.new_session(1) as session,
    ):
        assert bounded_http.post(session, server.url, b"{}", {}, 0.3).status == 200
        assert bounded_http.post(session, server.url, b"{}", {}, 30.0).status == 200
        assert server.accepted == 1  # the same connection served both


def silent_or_slow(request: Request) -> Iterator[bytes | float]:
    """``/silent``: no answer for a minute; else the answer after 1 s."""
    if request.target.endswith("/silent"):
        yield 60.0
    else:
        yield 1.0
        yield tiktok_ok()


def test_concurrent_exchanges_each_end_at_their_own_deadline() -> None:
    """Exchanges to a silent server with short deadlines time out; those answered slowly, with
    long deadlines, are answered: one exchange's deadline never cuts another's."""
    outcomes: dict[int, str] = {}
    lock = threading.Lock()
    with HostileServer(silent_or_slow) as server, bounded_http.new_session(12) as session:

        def post(index: int) -> None:
            silent = index % 2 == 1
            url = server.url + ("silent" if silent else "")
            try:
                bounded_http.post(session, url, b"{}", {}, 0.2 + 0.05 * index if silent else 30)
                outcome = "answered"
            except WholeRequestTimeout:
                outcome = "timed out"
            except requests.RequestException as error:
                outcome = type(error).__name__
            with lock:
                outcomes[index] = outcome

        clients = [threading.Thread(target=post, args=(n,)) for n in range(12)]
        for client in clients:
            client.start()
        for client in clients:
            client.join(WAIT_S)
    assert outcomes == {n: "timed out" if n % 2 else "answered" for n in range(12)}


def child_expires_a_watch(sock: socket.socket) -> None:
    watch = WATCHDOG.watch(0.05)
    watch.attach(sock)
    end = time.monotonic() + WAIT_S
    while not watch.expired and time.monotonic() < end:
        time.sleep(0.01)
    raise SystemExit(0 if watch.expired and is_shut(sock) else 1)


def test_a_forked_child_has_a_watchdog_of_its_own(pairs: Callable[[], socket.socket]) -> None:
    keep = WATCHDOG.watch(LONG_S)  # the parent's thread is running, holding a deadline
    try:
        assert WATCHDOG.thread is not None and WATCHDOG.thread.is_alive()
        child = multiprocessing.get_context("fork").Process(
            target=child_expires_a_watch, args=(pairs(),)
        )
        child.start()
        child.join(WAIT_S * 2)
        if child.is_alive():
            child.kill()
            child.join(WAIT_S)
        assert child.exitcode == 0
    finally:
        keep.finish()
