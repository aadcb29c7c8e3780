"""Delivery against a real HTTP server on loopback: batching, retries, splits, stops, secrecy."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from support.helpers import TOKEN
from support.tiktok_server import (
    BodyCode,
    Drop,
    FakeTikTok,
    HttpStatus,
    NotJson,
    Redirect,
    Stall,
    payload,
)

from tiktok_destination.delivery.deliverer import Deliverer, DeliveryConfig
from tiktok_destination.outcomes import SendOutcome

MakeDeliverer = Callable[..., Deliverer]


def statuses(outcomes: list[SendOutcome]) -> list[str]:
    return [outcome["status"] for outcome in outcomes]


def batches_by_request_id(payloads: list[Any], outcomes: list[SendOutcome]) -> set[frozenset[str]]:
    """The event ids that share each request id, as the outcomes tell it."""
    groups: dict[str | None, set[str]] = {}
    for sent, outcome in zip(payloads, outcomes, strict=True):
        groups.setdefault(outcome["request_id"], set()).add(sent["data"][0]["event_id"])
    return {frozenset(ids) for ids in groups.values()}


def test_groups_by_source_and_packs_batches_in_input_order(
    tiktok: FakeTikTok, make_deliverer: MakeDeliverer
) -> None:
    payloads = []
    for n in range(250):
        payloads.append(payload(f"w{n}"))
        if n % 8 == 0:
            payloads.append(payload(f"a{n}", source="app", source_id="APP1"))
        if n % 50 == 0:
            payloads.append(payload(f"p{n}", source_id="PIXEL2"))
    # One request in flight, so the requests arrive in the order they were made.
    outcomes = make_deliverer(batch_size=100, max_concurrent_requests=1).send(payloads)

    assert statuses(outcomes) == ["delivered"] * len(payloads)
    assert all(o["code"] == 0 and o["message"] == "OK" for o in outcomes)
    assert [r.size for r in tiktok.requests] == [100, 100, 50, 32, 5]
    assert all(r.body_bytes > 0 for r in tiktok.requests)
    assert {frozenset(r.event_ids) for r in tiktok.requests} == batches_by_request_id(
        payloads, outcomes
    )
    seen = [(e["event_source"], e["event_source_id"], e["event_id"]) for e in tiktok.events]
    sent = [(p["event_source"], p["event_source_id"], p["data"][0]["event_id"]) for p in payloads]
    assert sorted(seen) == sorted(sent)
    assert {r.content_type for r in tiktok.requests} == {"application/json"}
    assert len({r.client_port for r in tiktok.requests}) == 1  # one session, one connection


def test_plan_shows_the_bodies_send_posts(
    tiktok: FakeTikTok, make_deliverer: MakeDeliverer
) -> None:
    payloads = [payload(f"e{n}", source_id=f"PIXEL{n % 2}") for n in range(7)]
    payloads.append(payload("t1", test_event_code="TEST42"))
    deliverer = make_deliverer(batch_size=3, max_concurrent_requests=1)  # requests in order
    bodies = deliverer.plan(payloads)
    assert tiktok.requests == []
    shape = [(body["event_source_id"], len(body["data"])) for body in bodies]
    assert shape == [("PIXEL0", 3), ("PIXEL0", 1), ("PIXEL1", 3), ("PIXEL1", 1)]
    assert bodies[-1] == payloads[-1]
    deliverer.send(payloads)
    assert [[e["event_id"] for e in body["data"]] for body in bodies] == [
        r.event_ids for r in tiktok.requests
    ]


def test_test_event_code_events_go_one_per_request(
    tiktok: FakeTikTok, make_deliverer: MakeDeliverer
) -> None:
    payloads = [payload(f"t{n}", test_event_code="TEST42") for n in range(3)]
    payloads += [payload(f"e{n}") for n in range(4)]
    payloads.insert(2, payload("other-code", test_event_code="TEST43"))
    outcomes = make_deliverer().send(payloads)
    assert statuses(outcomes) == ["delivered"] * 8
    sizes = sorted((r.test_event_code or "", r.size) for r in tiktok.requests)
    assert sizes == [("", 4), ("TEST42", 1), ("TEST42", 1), ("TEST42", 1), ("TEST43", 1)]
    assert all(e["test_event_code"] == "TEST42" for e in tiktok.events if e["event_id"][0] == "t")


def test_nothing_to_send_makes_no_request(
    tiktok: FakeTikTok, make_deliverer: MakeDeliverer
) -> None:
    assert make_deliverer().send([]) == []
    assert tiktok.requests == []


def test_429_with_retry_after_is_honoured(
    tiktok: FakeTikTok, make_deliverer: MakeDeliverer, sleeps: list[float]
) -> None:
    tiktok.fail_next(HttpStatus(429, retry_after="7"))
    outcomes = make_deliverer().send([payload("e1"), payload("e2")])
    assert statuses(outcomes) == ["delivered", "delivered"]
    assert len(tiktok.requests) == 2 and len(sleeps) == 1 and sleeps[0] >= 7
    assert tiktok.event_ids == ["e1", "e2"]


@pytest.mark.parametrize(
    "fault",
    [
        HttpStatus(500),
        HttpStatus(502),
        HttpStatus(503, retry_after="2"),
        HttpStatus(504),
        Drop(),
        NotJson(),
        BodyCode(40100, "Too many requests"),
        BodyCode(40132, "QPS limit"),
        BodyCode(61000, "Throttled"),
        BodyCode(50002, "Internal error"),
    ],
    ids=repr,
)
def test_transient_trouble_is_retried(
    tiktok: FakeTikTok, make_deliverer: MakeDeliverer, sleeps: list[float], fault: Any
) -> None:
    tiktok.fail_next(fault, fault)
    outcomes = make_deliverer().send([payload("e1"), payload("e2")])
    assert statuses(outcomes) == ["delivered", "delivered"]
    assert len(tiktok.requests) == 3 and len(sleeps) == 2
    assert tiktok.event_ids == ["e1", "e2"]


def test_read_timeout_is_retried(
    tiktok: FakeTikTok, make_deliverer: MakeDeliverer, sleeps: list[float]
) -> None:
    tiktok.fail_next(Stall(10.0))  # cut short when the server stops
    # the retry must be answered within the timeout on a loaded machine too: not 0.2 s
    outcomes = make_deliverer(timeout_s=2.0).send([payload("e1")])
    assert statuses(outcomes) == ["delivered"]
    assert len(tiktok.requests) == 2 and len(sleeps) == 1


@pytest.mark.parametrize(
    ("fault", "code", "words"),
    [
        (HttpStatus(501), 501, "HTTP 501"),
        (HttpStatus(404), 404, "HTTP 404"),
        (HttpStatus(302), 302, "HTTP 302"),
        (BodyCode(40010, "Unsupported thing"), 40010, "TikTok code 40010: Unsupported thing"),
    ],
)
def test_other_errors_are_not_retried(
    tiktok: FakeTikTok,
    make_deliverer: MakeDeliverer,
    sleeps: list[float],
    fault: Any,
    code: int,
    words: str,
) -> None:
    tiktok.fail_next(fault)
    deliverer = make_deliverer()
    outcomes = deliverer.send([payload("e1"), payload("e2")])
    assert statuses(outcomes) == ["failed", "failed"]
    assert outcomes[0]["code"] == code and words in outcomes[0]["message"]
    assert "not retried" in outcomes[0]["message"]
    assert len(tiktok.requests) == 1 and sleeps == []
    assert deliverer.stopped is None
    assert statuses(deliverer.send([payload("e3")])) == ["delivered"]


@pytest.mark.parametrize(
    ("faults", "code", "words"),
    [
        ([HttpStatus(503)] * 3, 503, "HTTP 503"),
        ([BodyCode(40100, "Too many requests")] * 3, 40100, "TikTok code 40100"),
        ([Drop()] * 3, None, "ConnectionError"),
    ],
)
def test_retry_budget_runs_out(
    tiktok: FakeTikTok,
    make_deliverer: MakeDeliverer,
    sleeps: list[float],
    faults: list[Any],
    code: int | None,
    words: str,
) -> None:
    tiktok.fail_next(*faults)
    outcomes = make_deliverer(max_retries=2).send([payload("e1"), payload("e2")])
    assert statuses(outcomes) == ["failed", "failed"]
    assert outcomes[1]["code"] == code
    assert "after 3 attempts" in outcomes[1]["message"] and words in outcomes[1]["message"]
    assert len(tiktok.requests) == 3 and len(sleeps) == 2
    assert tiktok.events == []


def test_parameter_error_is_split_down_to_the_bad_event(
    tiktok: FakeTikTok, make_deliverer: MakeDeliverer
) -> None:
    tiktok.bad_event_ids = {"e6"}
    payloads = [payload(f"e{n}") for n in range(10)]
    outcomes = make_deliverer().send(payloads)
    assert statuses(outcomes) == ["delivered"] * 6 + ["rejected"] + ["delivered"] * 3
    assert outcomes[6]["code"] == 40002
    assert outcomes[6]["message"] == "Invalid value for data[0].properties (event_id e6)"
    assert sorted(tiktok.event_ids) == sorted(f"e{n}" for n in range(10) if n != 6)
    assert len(tiktok.requests) <= 9


def test_several_bad_events_in_a_big_batch(
    tiktok: FakeTikTok, make_deliverer: MakeDeliverer
) -> None:
    tiktok.bad_event_ids = {"e0", "e17", "e18", "e63", "e99"}
    outcomes = make_deliverer().send([payload(f"e{n}") for n in range(100)])
    rejected = {f"e{n}" for n, o in enumerate(outcomes) if o["status"] == "rejected"}
    assert rejected == tiktok.bad_event_ids
    assert Counter(statuses(outcomes)) == {"delivered": 95, "rejected": 5}
    assert Counter(tiktok.event_ids) == Counter(
        f"e{n}" for n in range(100) if n not in {0, 17, 18, 63, 99}
    )


def test_a_split_half_has_its_own_retry_budget(
    tiktok: FakeTikTok, make_deliverer: MakeDeliverer, sleeps: list[float]
) -> None:
    tiktok.bad_event_ids = {"e0"}
    tiktok.policy = lambda number, body: HttpStatus(503) if number in (1, 2) else None
    outcomes = make_deliverer(max_retries=2).send([payload(f"e{n}") for n in range(4)])
    assert statuses(outcomes) == ["rejected", "delivered", "delivered", "delivered"]
    assert len(sleeps) == 2


def test_refused_token_stops_the_deliverer(
    tiktok: FakeTikTok, make_deliverer: MakeDeliverer
) -> None:
    deliverer = make_deliverer(access_token="not-the-right-token", batch_size=2)
    payloads = [payload("e1"), payload("a1", source="app", source_id="APP1"), payload("e2")]
    payloads += [payload("e3")]
    outcomes = deliverer.send(payloads)
    assert statuses(outcomes) == ["failed"] * 4
    first = outcomes[0]
    assert first["code"] == 40105
    assert "TikTok refused the access token" in first["message"]
    assert "generate a new Events API access token" in first["message"]
    assert "update access_token" in first["message"]
    assert outcomes[1]["code"] is None and "not sent: delivery stopped" in outcomes[1]["message"]
    assert len(tiktok.requests) == 1
    assert deliverer.stopped is not None and "access_token" in deliverer.stopped
    later = deliverer.send([payload("e9")])
    assert statuses(later) == ["failed"] and "update access_token" in later[0]["message"]
    assert len(tiktok.requests) == 1 and tiktok.events == []


@pytest.mark.parametrize("code", [40102, 40104, 40105])
def test_every_token_code_stops(
    tiktok: FakeTikTok, make_deliverer: MakeDeliverer, code: int
) -> None:
    tiktok.fail_next(BodyCode(code, "token trouble"))
    deliverer = make_deliverer()
    outcomes = deliverer.send([payload("e1")])
    assert outcomes[0]["code"] == code and "update access_token" in outcomes[0]["message"]
    assert statuses(deliverer.send([payload("e2")])) == ["failed"]
    assert len(tiktok.requests) == 1


def test_missing_permission_stops_the_deliverer(
    tiktok: FakeTikTok, make_deliverer: MakeDeliverer
) -> None:
    tiktok.fail_next(BodyCode(40001, "No permission to operate pixel code: PIXEL1"))
    deliverer = make_deliverer()
    outcomes = deliverer.send([payload("e1"), payload("a1", source="app", source_id="APP1")])
    assert statuses(outcomes) == ["failed", "failed"]
    assert outcomes[0]["code"] == 40001
    message = outcomes[0]["message"]
    assert "no permission for event_source_id PIXEL1" in message and "pixel_id" in message
    assert "No permission to operate pixel code" in message
    assert len(tiktok.requests) == 1
    assert statuses(deliverer.send([payload("e2")])) == ["failed"]
    assert len(tiktok.requests) == 1


@pytest.mark.parametrize("status", [401, 403])
def test_http_401_403_stop(tiktok: FakeTikTok, make_deliverer: MakeDeliverer, status: int) -> None:
    tiktok.fail_next(HttpStatus(status))
    deliverer = make_deliverer()
    outcomes = deliverer.send([payload("e1"), payload("e2", source_id="PIXEL2")])
    assert [o["code"] for o in outcomes] == [status, None]
    assert "access_token" in outcomes[0]["message"] and deliverer.stopped is not None
    assert len(tiktok.requests) == 1


MALFORMED: list[Any] = [
    None,
    "a string",
    42,
    [payload("x")],
    {},
    {"event_source": "web", "event_source_id": "PIXEL1"},
    {"event_source": "web", "event_source_id": "PIXEL1", "data": {"event_id": "x"}},
    {"event_source": "web", "event_source_id": "PIXEL1", "data": []},
    {"event_source": "web", "event_source_id": "PIXEL1", "data": ["x"]},
    {**payload("x"), "data": payload("x")["data"] * 2},
    {**payload("x"), "event_source": None},
    {**payload("x"), "event_source_id": 123},
    {**payload("x"), "test_event_code": 5},
]


def test_malformed_payloads_are_rejected_and_the_rest_goes(
    tiktok: FakeTikTok, make_deliverer: MakeDeliverer
) -> None:
    payloads: list[Any] = []
    for n, bad in enumerate(MALFORMED):
        payloads += [bad, payload(f"e{n}")]
    deliverer = make_deliverer()
    outcomes = deliverer.send(payloads)
    assert statuses(outcomes) == ["rejected", "delivered"] * len(MALFORMED)
    assert all("not a transform payload" in o["message"] for o in outcomes[::2])
    assert sorted(tiktok.event_ids) == sorted(f"e{n}" for n in range(len(MALFORMED)))
    assert len(deliverer.plan(payloads)) == 1


def test_events_that_are_not_json_are_rejected(
    tiktok: FakeTikTok, make_deliverer: MakeDeliverer
) -> None:
    payloads = [payload("e1"), payload("e2", value=float("nan")), payload("e3", tags={"a"})]
    payloads.append(payload("e4"))
    outcomes = make_deliverer().send(payloads)
    assert statuses(outcomes) == ["delivered", "rejected", "rejected", "delivered"]
    assert "not valid JSON" in outcomes[1]["message"]
    assert tiktok.event_ids == ["e1", "e4"]


def test_an_event_holding_itself_is_rejected_alone(
    tiktok: FakeTikTok, make_deliverer: MakeDeliverer
) -> None:
    looped = payload("e2")
    looped["data"][0]["properties"] = {"self": looped["data"][0]}
    outcomes = make_deliverer().send([payload("e1"), looped, payload("e3")])
    assert statuses(outcomes) == ["delivered", "rejected", "delivered"]
    assert outcomes[1]["message"].startswith("not valid JSON (RecursionError")
    assert tiktok.event_ids == ["e1", "e3"]


def test_each_outcome_is_its_own(make_deliverer: MakeDeliverer) -> None:
    """A host may change one outcome without changing the others of its request."""
    outcomes = make_deliverer().send([payload("e1"), payload("e2")])
    assert outcomes[0] == outcomes[1] and outcomes[0] is not outcomes[1]


def test_the_token_never_shows(
    tiktok: FakeTikTok, make_deliverer: MakeDeliverer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = DeliveryConfig(TOKEN, api_url=tiktok.url, max_retries=1, timeout_s=2.0)
    seen: list[str] = [repr(config), str(config)]
    tiktok.bad_event_ids = {"bad"}
    deliverer = Deliverer(config, sleep=lambda s: None)
    outcomes = [deliverer.send([payload("e1"), payload("bad"), "junk"])]
    tiktok.fail_next(
        HttpStatus(429, retry_after="1"),
        Drop(),
        Stall(10.0),  # longer than the timeout (cut short when the server stops)
        NotJson(),
        BodyCode(40010, f"echoing {TOKEN} back"),
        HttpStatus(503),
        HttpStatus(503),
        BodyCode(40105, f"token {TOKEN} is revoked"),
    )
    seen += [repr(deliverer), str(deliverer)]
    outcomes += [deliverer.send([payload("e1"), payload("bad"), "junk"]) for _ in range(5)]
    assert [statuses(o) for o in outcomes[:2]] == [
        ["delivered", "rejected", "rejected"],
        ["failed", "failed", "rejected"],
    ]
    seen += [json.dumps(outcomes), str(deliverer.stopped), repr(deliverer)]
    assert deliverer.stopped is not None
    bads: tuple[dict[str, Any], ...] = ({"batch_size": 0}, {"timeout_s": 0}, {"max_retries": -1})
    for bad in bads:
        with pytest.raises(ValueError) as error:
            DeliveryConfig(TOKEN, **bad)
        seen.append(str(error.value) + repr(error.value))
    broken = make_deliverer(access_token=TOKEN + "\n")
    seen += [json.dumps(broken.send([payload("e1")])), repr(broken), str(broken.stopped)]
    deliverer.close()
    text = caplog.text + "\n".join(seen)
    assert "POST" in caplog.text and "retry" in caplog.text  # the logs were captured
    assert "<redacted>" in text
    assert TOKEN not in text and TOKEN[3:20] not in text


def test_a_token_that_cannot_be_a_header_stops_before_any_request(
    tiktok: FakeTikTok, make_deliverer: MakeDeliverer
) -> None:
    for token in ("", " padded ", "two\nlines", "naïve"):
        deliverer = make_deliverer(access_token=token)
        outcomes = deliverer.send([payload("e1")])
        assert statuses(outcomes) == ["failed"] and "access_token" in outcomes[0]["message"]
    assert tiktok.requests == []


def test_a_given_session_is_used_and_left_open(tiktok: FakeTikTok) -> None:
    with requests.Session() as session:
        with Deliverer(DeliveryConfig(TOKEN, api_url=tiktok.url), session=session) as deliverer:
            assert statuses(deliverer.send([payload("e1")])) == ["delivered"]
        headers = {"Access-Token": TOKEN, "Content-Type": "application/json"}
        answer = session.post(tiktok.url, data=json.dumps(payload("e2")), headers=headers)
        assert answer.json()["code"] == 0
    # Closing the session would have closed its connection: the caller's request needed a new one.
    assert [r.event_ids for r in tiktok.requests] == [["e1"], ["e2"]]
    assert len({r.client_port for r in tiktok.requests}) == 1


def test_an_own_session_is_closed(tiktok: FakeTikTok) -> None:
    with Deliverer(DeliveryConfig(TOKEN, api_url=tiktok.url)) as deliverer:
        assert statuses(deliverer.send([payload("e1")])) == ["delivered"]
        assert deliverer.send([payload("e2")])[0]["status"] == "delivered"
    assert deliverer.send([payload("e3")])[0]["status"] == "delivered"  # a new connection
    assert len({r.client_port for r in tiktok.requests}) == 2


def test_a_redirect_is_not_followed(tiktok: FakeTikTok, make_deliverer: MakeDeliverer) -> None:
    with FakeTikTok(TOKEN) as elsewhere:
        tiktok.fail_next(Redirect(elsewhere.url))
        outcomes = make_deliverer(max_retries=2).send([payload("e1")])
        assert elsewhere.requests == []  # the token never went to the other address
    assert statuses(outcomes) == ["failed"] and outcomes[0]["code"] == 307
    assert len(tiktok.requests) == 1


def test_concurrent_sends_share_the_deliverer(
    tiktok: FakeTikTok, make_deliverer: MakeDeliverer
) -> None:
    deliverer = make_deliverer(batch_size=10)
    chunks = [[payload(f"t{t}-{n}") for n in range(50)] for t in range(4)]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(deliverer.send, chunks))
    assert all(statuses(r) == ["delivered"] * 50 for r in results)
    assert sorted(tiktok.event_ids) == sorted(p["data"][0]["event_id"] for c in chunks for p in c)
