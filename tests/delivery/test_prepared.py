"""``prepare`` then ``deliver``: the bodies encoded once, in the preparing thread; the payloads
let go; a split half read back from the bytes is the request its payloads would make; a bug
while preparing fails every payload and posts nothing."""

from __future__ import annotations

import gc
import json
import logging
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.helpers import TOKEN
from support.profiles import examples
from support.tiktok_server import FakeTikTok, payload

from tiktok_destination.delivery import deliverer as deliverer_module
from tiktok_destination.delivery.deliverer import Deliverer, DeliveryConfig, Request

MakeDeliverer = Callable[..., Deliverer]


class Event(dict[str, Any]):
    """An event object a weak reference can follow (a plain dict cannot)."""


def test_prepared_requests_keep_no_payload(make_deliverer: MakeDeliverer) -> None:
    payloads = [payload(f"e{n}") for n in range(10)]
    for sent in payloads:
        sent["data"][0] = Event(sent["data"][0])
    alive = [weakref.ref(sent["data"][0]) for sent in payloads]
    prepared = make_deliverer(batch_size=4).prepare(payloads)
    del payloads, sent
    gc.collect()
    assert [ref() for ref in alive] == [None] * 10  # only the bytes are kept
    bodies = [json.loads(request.body) for request in prepared.requests]
    assert [[e["event_id"] for e in body["data"]] for body in bodies] == [
        ["e0", "e1", "e2", "e3"],
        ["e4", "e5", "e6", "e7"],
        ["e8", "e9"],
    ]
    assert [request.indices for request in prepared.requests] == [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9],
    ]


@pytest.fixture
def encoding_threads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[threading.Thread]]:
    """The thread of every JSON encoding the deliverer does, in order."""
    threads: list[threading.Thread] = []
    real = deliverer_module._dumps

    def recording(value: Any) -> bytes:
        threads.append(threading.current_thread())
        return real(value)

    monkeypatch.setattr(deliverer_module, "_dumps", recording)
    yield threads


def test_deliver_posts_the_prepared_bytes_without_encoding(
    tiktok: FakeTikTok, make_deliverer: MakeDeliverer, encoding_threads: list[threading.Thread]
) -> None:
    sender = make_deliverer(batch_size=10, max_concurrent_requests=4)
    prepared = sender.prepare([payload(f"e{n}") for n in range(50)])
    assert set(encoding_threads) == {threading.current_thread()}
    encoding_threads.clear()
    outcomes = sender.deliver(prepared)
    assert [outcome["status"] for outcome in outcomes] == ["delivered"] * 50
    assert len(tiktok.requests) == 5 and sorted(tiktok.event_ids) == sorted(
        f"e{n}" for n in range(50)
    )
    assert encoding_threads == []  # the threads that post only handle bytes


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=["Cs"])),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def offline() -> Iterator[Deliverer]:
    """A deliverer that prepares requests and posts none."""
    config = DeliveryConfig(access_token=TOKEN, api_url="http://127.0.0.1:9/x", batch_size=1000)
    with Deliverer(config) as sender:
        yield sender


def split_down(request: Request) -> list[Request]:
    """``request`` split in halves, and each half again, down to one event each."""
    if len(request.indices) == 1:
        return [request]
    first, second = request.halves()
    return [request, *split_down(first), *split_down(second)]


@settings(max_examples=examples(500))
@given(st.lists(st.dictionaries(st.text(max_size=8), json_values, max_size=4), min_size=2))
def test_a_half_read_back_from_the_body_is_the_request_its_payloads_make(
    offline: Deliverer, events: list[dict[str, Any]]
) -> None:
    payloads = [
        {"event_source": "web", "event_source_id": "P", "data": [{**event, "event_id": f"e{n}"}]}
        for n, event in enumerate(events)
    ]
    (whole,) = offline.prepare(payloads).requests
    for request in split_down(whole):
        (direct,) = offline.prepare([payloads[index] for index in request.indices]).requests
        assert request.body == direct.body
    first, second = whole.halves()
    assert first.indices + second.indices == list(range(len(events)))
    assert abs(len(first.indices) - len(second.indices)) <= 1


@pytest.mark.parametrize("broken_part", ["_batches", "_post"])
def test_a_bug_fails_each_payload_with_an_outcome_of_its_own_and_posts_nothing(
    broken_part: str,
    tiktok: FakeTikTok,
    make_deliverer: MakeDeliverer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # _batches: a bug while preparing fails every payload; _post: a bug while delivering fails
    # each event of its request.
    def broken(*args: Any) -> Any:
        raise RuntimeError(f"a bug quoting {TOKEN}")

    sender = make_deliverer()
    payloads = [payload("e0"), payload("e1"), payload("e2")]
    with caplog.at_level(logging.ERROR, logger="tiktok_destination"):
        if broken_part == "_batches":
            monkeypatch.setattr(sender, broken_part, broken)
        prepared = sender.prepare(payloads)
        monkeypatch.setattr(sender, broken_part, broken)
        outcomes = sender.deliver(prepared)
    message = "not sent: unexpected RuntimeError in the destination"
    assert [(o["status"], o["message"]) for o in outcomes] == [("failed", message)] * 3
    assert len({id(outcome) for outcome in outcomes}) == 3  # each its own: a host may change one
    assert tiktok.requests == []
    assert "RuntimeError" in caplog.text and TOKEN not in caplog.text
