"""The streaming ``send`` in parts: records written the fast way, input in chunks, the bounded
read-ahead of a stream, the batch hook, garbage collection during a run."""

from __future__ import annotations

import gc
import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.cli_helpers import WAIT_S, final, purchase, read_outcomes, write_events
from support.helpers import TOKEN
from support.tiktok_server import FakeTikTok

from tiktok_destination.cli import send_run as sending
from tiktok_destination.cli.event_files import EventLines, line_hash, read_lines
from tiktok_destination.cli.host import plugin_manager
from tiktok_destination.cli.outcome_log import OutcomeLog, record, record_lines
from tiktok_destination.cli.send_input import READ_AHEAD, chunked, with_ticks
from tiktok_destination.cli.send_run import SendRun
from tiktok_destination.delivery import deliverer as deliverer_module
from tiktok_destination.delivery.deliverer import Deliverer, Prepared
from tiktok_destination.outcomes import SendOutcome

ids = st.one_of(st.none(), st.integers(), st.text(max_size=20))
texts = st.text(max_size=40)


@given(
    st.lists(
        st.tuples(st.integers(min_value=1), ids, st.one_of(st.none(), st.text(max_size=16))),
        max_size=5,
    ),
    st.sampled_from(["sending", "delivered", "rejected", "failed", "invalid"]),
    texts,
    st.one_of(st.none(), st.integers()),
    st.one_of(st.none(), texts),
)
def test_record_lines_write_what_json_dumps_writes(
    events: list[tuple[int, Any, str | None]],
    status: str,
    message: str,
    code: int | None,
    rid: str | None,
) -> None:
    expected = "".join(
        json.dumps(
            record(line, event_id, status, message, code, rid, line_hash=line_hash),
            ensure_ascii=False,
        )
        + "\n"
        for line, event_id, line_hash in events
    )
    assert record_lines(events, status, message, code, rid) == expected


def test_a_file_is_read_in_chunks() -> None:
    lines: list[tuple[int, Any]] = [(n, {}) for n in range(1, 8)]
    assert [len(chunk) for chunk in chunked(lines, 3)] == [3, 3, 1]
    assert [line for chunk in chunked(lines, 3) for line, _event in chunk] == list(range(1, 8))


def test_a_stream_hands_over_what_arrived_without_waiting_for_a_chunk() -> None:
    arrived = threading.Event()

    def lines() -> Iterator[tuple[int, Any]]:
        yield 1, {}
        yield 2, {}
        arrived.wait(WAIT_S)  # a pause in the stream
        yield 3, {}

    chunks = with_ticks(lines(), 0.05, size=256)
    first = next(chunks)
    while len(first) < 2:  # both lines came at once; they may be taken in one or two chunks
        first += next(chunks)
    assert [line for line, _event in first] == [1, 2]
    assert next(chunks) == []  # nothing for a while: a tick
    arrived.set()
    rest = [line for chunk in chunks for line, _event in chunk]
    assert rest == [3]


def test_a_stream_is_read_ahead_only_so_far() -> None:
    pulled = 0

    def lines() -> Iterator[tuple[int, Any]]:
        nonlocal pulled
        for n in range(1, 100_000):
            pulled = n
            yield n, {}

    chunks = with_ticks(lines(), 1.0, size=10)
    taken = len(next(chunks))
    time.sleep(1.0)  # the reading thread runs on as far as it may meanwhile
    assert READ_AHEAD <= pulled <= taken + READ_AHEAD + 1  # a full queue stops it
    assert taken + sum(len(chunk) for chunk in chunks) == 99_999  # nothing lost


class CountingHook:
    """The real hooks, counting the transform calls of each kind."""

    def __init__(self) -> None:
        self.real = plugin_manager().hook
        self.batches: list[int] = []
        self.singles = 0
        self.thresholds: list[int] = []

    def cdp_destination_transform(self, **kwargs: Any) -> Any:
        self.singles += 1
        return self.real.cdp_destination_transform(**kwargs)

    def cdp_destination_transform_batch(self, **kwargs: Any) -> Any:
        self.batches.append(len(kwargs["events"]))
        self.thresholds.append(gc.get_threshold()[0])
        return self.real.cdp_destination_transform_batch(**kwargs)


def test_send_transforms_through_the_batch_hook_a_chunk_at_a_time(
    tmp_path: Path, tiktok: FakeTikTok
) -> None:
    settings = {"access_token": TOKEN, "pixel_id": "PIXEL", "api_url": tiktok.url}
    lines: list[Any] = [purchase(n) for n in range(600)]
    lines[5] = "{not json"  # recorded invalid, never given to the transform
    path = Path(write_events(tmp_path / "e.jsonl", lines))
    out = tmp_path / "out.jsonl"
    log = OutcomeLog(str(out), append=False)
    hook = CountingHook()
    before = gc.get_threshold()
    run = SendRun(hook, settings, outcomes=log, err=io.StringIO())
    with path.open("rb") as stream:
        assert run.run(chunked(read_lines(stream))) is True
    log.close()
    assert hook.batches == [255, 256, 88] and hook.singles == 0
    outcomes = final(read_outcomes(out))
    assert sorted(outcomes) == list(range(1, 601))
    assert outcomes[6]["status"] == "invalid"
    assert sum(r["status"] == "delivered" for r in outcomes.values()) == 599 == len(tiktok.events)
    # garbage collected less often during the run, as before after it
    assert set(hook.thresholds) == {max(before[0], sending.YOUNG_COLLECTION_EVERY)}
    assert gc.get_threshold() == before


class HeldDeliveries:
    """Every delivery of a buffer waits until ``release`` is set (at most ``WAIT_S``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.release = threading.Event()
        self.finished = 0
        real = Deliverer.deliver

        def deliver(deliverer: Deliverer, prepared: Prepared) -> list[SendOutcome]:
            self.release.wait(WAIT_S)
            try:
                return real(deliverer, prepared)
            finally:
                self.finished += 1

        monkeypatch.setattr(Deliverer, "deliver", deliver)


def test_the_next_buffer_fills_while_a_full_window_is_in_flight(
    tmp_path: Path, tiktok: FakeTikTok, monkeypatch: pytest.MonkeyPatch
) -> None:
    window, batch = 3, 2
    settings = {
        "access_token": TOKEN,
        "pixel_id": "PIXEL",
        "api_url": tiktok.url,
        "batch_size": batch,
        "max_concurrent_requests": window,
    }
    held = HeldDeliveries(monkeypatch)
    finished_when_read: list[int] = []

    def one_line_at_a_time() -> Iterator[list[tuple[int, Any]]]:
        for n in range(window * batch + 1):
            finished_when_read.append(held.finished)
            yield [(n + 1, purchase(n))]
        held.release.set()

    log = OutcomeLog(str(tmp_path / "out.jsonl"), append=False)
    run = SendRun(plugin_manager().hook, settings, outcomes=log, err=io.StringIO())
    assert run.run(one_line_at_a_time()) is True
    log.close()
    # the line after the third buffer was read with three requests in flight, none answered
    assert finished_when_read[-1] == 0
    assert len(tiktok.events) == window * batch + 1


def test_a_stream_that_breaks_hands_over_what_came_then_the_error() -> None:
    def lines() -> Iterator[tuple[int, Any]]:
        yield 1, {}
        yield 2, {}
        raise OSError("the pipe broke")

    chunks = with_ticks(lines(), 1.0)
    taken: list[int] = []
    with pytest.raises(OSError, match="the pipe broke"):
        for chunk in chunks:
            taken += [line for line, _event in chunk]
    assert taken == [1, 2]


def test_send_encodes_every_request_on_the_reading_thread(
    tmp_path: Path, tiktok: FakeTikTok, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thread that fills the buffers encodes their requests; the threads that post get
    bytes (and every event still gets its ``sending`` record, then its outcome)."""
    threads: set[threading.Thread] = set()
    real = deliverer_module._dumps

    def recording(value: Any) -> bytes:
        threads.add(threading.current_thread())
        return real(value)

    monkeypatch.setattr(deliverer_module, "_dumps", recording)
    settings = {
        "access_token": TOKEN,
        "pixel_id": "PIXEL",
        "api_url": tiktok.url,
        "batch_size": 50,
        "max_concurrent_requests": 4,
    }
    path = Path(write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(400)]))
    out = tmp_path / "out.jsonl"
    log = OutcomeLog(str(out), append=False)
    run = SendRun(plugin_manager().hook, settings, outcomes=log, err=io.StringIO())
    with path.open("rb") as stream:
        assert run.run(chunked(read_lines(stream))) is True
    log.close()
    assert threads == {threading.current_thread()}
    records = read_outcomes(out)
    assert [r["status"] for r in records].count("sending") == 400
    assert {r["status"] for r in final(records).values()} == {"delivered"}
    assert len(tiktok.requests) == 8 and len(tiktok.events) == 400


@given(
    st.lists(
        st.tuples(
            st.dictionaries(st.text(max_size=6), st.text(max_size=20), max_size=3),
            st.sampled_from(["\n", "\r\n", "\r\r\n"]),
        ),
        max_size=6,
    ),
    st.booleans(),
)
def test_the_reader_hashes_each_line_as_line_hash_does(
    lines: list[tuple[dict[str, str], str]], crlf_last: bool
) -> None:
    """``--resume`` knows a line by ``line_hash``: the reader's own hashing must agree with it,
    whatever the line ending (and a last line without one)."""
    raw = [(json.dumps(event) + ending).encode() for event, ending in lines]
    if raw and not crlf_last:
        raw[-1] = raw[-1].rstrip(b"\r\n")
    read = list(EventLines(io.BytesIO(b"".join(raw))).hashed())
    assert [(number, hashed) for number, _event, hashed in read] == [
        (number, line_hash(line)) for number, line in enumerate(raw, start=1)
    ]
