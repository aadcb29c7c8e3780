"""The fleet against hostile entries and outages, on a real ``redis-server``: nothing stops it.

Bad bytes, deep nesting and lone surrogates cost their own entry only; an outage of any length
ends with every entry delivered; a second consumer group gets every entry; what a worker holds
is bounded in bytes; TikTok's text reaches Redis whatever it holds.
"""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

import pytest
import redis
from support.helpers import TOKEN
from support.tiktok_server import BodyCode, Drop, FakeTikTok, Fault, HttpStatus, payload
from support.worker_helpers import (
    STREAM,
    add_events,
    add_raw,
    dead,
    event,
    make_worker,
    outcomes,
    pending,
    run,
    worker_settings,
)

from tiktok_destination.delivery.deliverer import Deliverer
from tiktok_destination.fleet.gate import SharedGate, settings_key
from tiktok_destination.fleet.metrics import WorkerMetrics
from tiktok_destination.fleet.streams import DEFAULT_GROUP, EVENT_FIELD, GroupConsumer, redis_text
from tiktok_destination.fleet.worker import Verdict
from tiktok_destination.state import config_for

BREAKS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


def raw_add(client: redis.Redis, fields: dict[bytes, bytes]) -> str:
    """``XADD`` an entry whose field names and values are these bytes, as they are."""
    return str(client.xadd(STREAM, fields))  # type: ignore[arg-type]


def test_entries_that_cannot_be_read_are_invalid_alone_and_their_neighbours_delivered(
    redis_client: redis.Redis, tiktok: FakeTikTok
) -> None:
    hostile = "".join(BREAKS) + "\x00'\"#{{}}"
    good = add_events(redis_client, [event(f"g{i}") for i in range(20)])
    bad = {
        raw_add(redis_client, {b"event": b'{"id": "\xff\xfe"}'}): "entry: field 'event': not UTF-8",
        raw_add(redis_client, {b"\xff": b"x", b"event": json.dumps(event("n")).encode()}): (
            "entry: a field name: not UTF-8"
        ),
        add_raw(redis_client, {EVENT_FIELD: "[" * 100_000 + "]" * 100_000}): (
            "event: not read: nested deeper"
        ),
        add_raw(redis_client, {EVENT_FIELD: '{"event_name": "x\\ud800", "id": "s"}'}): (
            "event: not valid Unicode: a lone surrogate (\\ud800)"
        ),
        add_raw(redis_client, {EVENT_FIELD: "\x00"}): "event: not JSON",
    }
    good += add_events(redis_client, [event(f"h{i}", note=hostile) for i in range(20)])
    assert run(make_worker(redis_client, worker_settings(tiktok, batch_size=7))) is Verdict.DONE
    assert sorted(tiktok.event_ids) == sorted(
        [f"g{i}" for i in range(20)] + [f"h{i}" for i in range(20)]
    )
    by_entry = {record["entry"]: record for record in outcomes(redis_client)}
    assert len(by_entry) == len(outcomes(redis_client)) == 45  # exactly one outcome each
    assert {by_entry[entry]["status"] for entry in good} == {"delivered"}
    letters = {letter["entry"]: letter for letter in dead(redis_client)}
    assert set(letters) == set(bad)
    for entry, reason in bad.items():
        assert by_entry[entry]["status"] == "invalid"
        assert by_entry[entry]["message"].startswith(reason), by_entry[entry]["message"]
        assert letters[entry]["reason"] == by_entry[entry]["message"]
    first = next(iter(bad))
    assert letters[first]["event"] == '{"id": "\\xff\\xfe"}'  # the bytes, escaped
    assert pending(redis_client) == 0


def test_a_lone_surrogate_in_tiktoks_message_reaches_redis_as_printable_text(
    redis_client: redis.Redis, tiktok: FakeTikTok
) -> None:
    """The deliverer makes server text printable; what reaches Redis can always be encoded."""
    tiktok.fail_next(BodyCode(40002, "bad \ud800 value"))
    [entry] = add_events(redis_client, [event("e0")])
    assert run(make_worker(redis_client, worker_settings(tiktok))) is Verdict.DONE
    [record] = outcomes(redis_client)
    assert record["entry"] == entry
    assert record["status"] == "rejected"
    assert "bad \ufffd value" in record["message"]
    assert [letter["entry"] for letter in dead(redis_client)] == [entry]


@pytest.mark.parametrize(
    ("text", "written"),
    [("ok", b"ok"), ("a\ud800b", b"a\\ud800b"), ("\udcff", b"\\udcff"), ("\u00e9", b"\xc3\xa9")],
)
def test_text_for_redis_is_always_encodable(text: str, written: bytes) -> None:
    """Anything written to Redis goes through ``redis_text``: a lone surrogate is escaped."""
    assert redis_text(text) == written


def test_an_outage_longer_than_five_claim_periods_ends_with_every_entry_delivered(
    redis_client: redis.Redis, tiktok: FakeTikTok
) -> None:
    outage: list[Fault] = [
        HttpStatus(503),
        Drop(),
        HttpStatus(502),
    ] * 4  # 12 attempts, each one claim apart
    tiktok.fail_next(*outage)
    ids = add_events(redis_client, [event(f"e{i}") for i in range(30)])
    settings = worker_settings(tiktok, batch_size=50, timeout_s=2.0)
    worker = make_worker(redis_client, settings, claim_after_s=0.1, idle_s=0.5)
    assert run(worker) is Verdict.DONE
    assert len(tiktok.requests) == len(outage) + 1
    assert worker.metrics.events.labels(status="failed")._value.get() == 30 * len(outage)
    records = outcomes(redis_client)
    assert sorted(record["entry"] for record in records) == sorted(ids)
    assert {record["status"] for record in records} == {"delivered"}
    assert dead(redis_client) == []
    assert pending(redis_client) == 0


def test_a_worker_that_dies_holding_an_entry_still_counts_toward_the_poison_limit(
    redis_client: redis.Redis,
) -> None:
    [entry] = add_events(redis_client, [event("a")])
    reader = GroupConsumer(redis_client, STREAM, DEFAULT_GROUP, "w")
    reader.join()
    reader.read(10, 10)
    assert reader.release([entry]) == 1  # delivery failed: the delivery does not count
    [claimed] = reader.claim(0, 10)
    assert claimed.deliveries == 1
    # The worker dies holding it: the next claim counts it.
    [again] = GroupConsumer(redis_client, STREAM, DEFAULT_GROUP, "other").claim(0, 10)
    assert again.deliveries == 2
    assert reader.release([entry]) == 0  # no longer its own: left as it is
    reader.close()


def test_two_consumer_groups_each_deliver_every_entry_and_the_retention_trims_after_both(
    redis_client: redis.Redis,
) -> None:
    ids = [f"e{i}" for i in range(2000)]
    add_events(redis_client, [event(event_id) for event_id in ids])
    for group in ("first", "second"):  # two fleets on one stream, the second not started yet
        GroupConsumer(redis_client, STREAM, group, "x").join()
    for group in ("first", "second"):
        with FakeTikTok(TOKEN) as tiktok:
            settings = worker_settings(tiktok, batch_size=500)
            worker = make_worker(redis_client, settings, group=group, retention_s=0.001)
            assert run(worker) is Verdict.DONE
            assert sorted(tiktok.event_ids) == sorted(ids)
    by_group: dict[str, int] = {}
    for record in outcomes(redis_client):
        by_group[record["group"]] = by_group.get(record["group"], 0) + 1
    assert by_group == {"first": 2000, "second": 2000}
    assert redis_client.xlen(STREAM) == 0  # finished by both groups, older than the retention


def test_the_retention_keeps_young_entries_and_those_another_group_has_not_finished(
    redis_client: redis.Redis, tiktok: FakeTikTok
) -> None:
    old = [
        add_raw(redis_client, {EVENT_FIELD: json.dumps(event(f"o{i}"))}, f"{i + 1}-0")
        for i in range(3)
    ]
    young = add_events(redis_client, [event(f"y{i}") for i in range(3)])
    assert run(make_worker(redis_client, worker_settings(tiktok), retention_s=3600)) is Verdict.DONE
    left: Any = redis_client.xrange(STREAM)
    assert [row[0] for row in left] == young  # the old ones, finished, are gone
    add_events(redis_client, [event("late")])
    lagging = GroupConsumer(redis_client, STREAM, "lagging", "l")
    lagging.join()  # created from the stream's start: it has read nothing
    lagging.read(1, 10)  # holds the first young entry
    reader = GroupConsumer(redis_client, STREAM, DEFAULT_GROUP, "w")
    assert reader.trim(0) == 0  # every entry is old enough, but "lagging" holds the first
    assert redis_client.xlen(STREAM) == 4
    assert len(old) == 3


def test_what_a_worker_holds_is_bounded_in_bytes_however_big_the_entries(
    redis_client: redis.Redis, tiktok: FakeTikTok
) -> None:
    big = "x" * (1 << 20)
    with redis_client.pipeline(transaction=False) as pipe:
        for i in range(150):
            pipe.xadd(STREAM, {EVENT_FIELD: json.dumps(event(f"e{i}", padding=big))})
        pipe.execute()
    worker = make_worker(redis_client, worker_settings(tiktok), max_held_bytes=4 << 20)
    tracemalloc.start()
    try:
        assert run(worker) is Verdict.DONE
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(tiktok.event_ids) == 150
    assert peak < 40 << 20, f"{peak / (1 << 20):.0f} MiB held at the peak for 150 MiB of entries"


def test_the_code_label_takes_only_known_codes(
    redis_client: redis.Redis, tiktok: FakeTikTok
) -> None:
    tiktok.fail_next(*(BodyCode(70000 + i) for i in range(70)), HttpStatus(503))
    metrics = WorkerMetrics()
    config = config_for(worker_settings(tiktok)).delivery
    gate = SharedGate(redis_client, settings_key(config.api_url, config.access_token))
    gate._on_reply = metrics.request
    with Deliverer(config, gate=gate) as deliverer:
        for i in range(72):
            deliverer.send([payload(f"e{i}")])
    series: dict[str, Any] = {}
    for family in metrics.registry.collect():
        for sample in family.samples:
            if sample.name == "tiktok_destination_requests_total":
                series[sample.labels["code"]] = sample.value
    assert series == {"other": 70, "503": 1, "0": 1}
