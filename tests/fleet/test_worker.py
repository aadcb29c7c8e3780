"""The worker on a real ``redis-server`` against the fake TikTok: outcomes, dead letters, clock."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import redis
from support.helpers import TOKEN
from support.tiktok_server import FakeTikTok, HttpStatus
from support.worker_helpers import (
    RUN_TIMEOUT_S,
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

from tiktok_destination import destination
from tiktok_destination.fleet.batches import MAX_DELIVERIES
from tiktok_destination.fleet.streams import DEFAULT_GROUP, EVENT_FIELD, GroupConsumer
from tiktok_destination.fleet.worker import Verdict


def test_every_entry_is_delivered_acknowledged_and_given_one_outcome(
    redis_client: redis.Redis, tiktok: FakeTikTok
) -> None:
    ids = add_events(redis_client, [event(f"e{i}") for i in range(25)])
    settings = worker_settings(tiktok, batch_size=10)
    assert run(make_worker(redis_client, settings)) is Verdict.DONE
    assert sorted(tiktok.event_ids) == sorted(f"e{i}" for i in range(25))
    assert sorted(request.size for request in tiktok.requests) == [5, 10, 10]
    records = outcomes(redis_client)
    assert sorted(record["entry"] for record in records) == sorted(ids)
    assert {record["status"] for record in records} == {"delivered"}
    assert {record["code"] for record in records} == {"0"}
    assert sorted(record["event_id"] for record in records) == sorted(tiktok.event_ids)
    assert pending(redis_client) == 0
    assert redis_client.xlen(STREAM) == 25  # acknowledged, kept for other groups (retention)
    assert dead(redis_client) == []


def test_the_entry_time_is_the_clock_so_a_redelivery_keeps_time_and_id(
    redis_client: redis.Redis, tiktok: FakeTikTok
) -> None:
    untimed = {"event_name": "add_to_cart", "user": {"id": "u1"}}  # no timestamp, no id
    add_raw(redis_client, {EVENT_FIELD: json.dumps(untimed)}, "1700000000123-0")
    # A first worker read it and died: the entry waits in its pending list.
    ghost = GroupConsumer(redis_client, STREAM, DEFAULT_GROUP, "ghost")
    ghost.join()
    assert [entry.id for entry in ghost.read(10, 10)] == ["1700000000123-0"]
    settings = worker_settings(tiktok)
    assert run(make_worker(redis_client, settings, claim_after_s=0.05)) is Verdict.DONE
    [sent] = tiktok.events
    assert sent["event_time"] == 1_700_000_000
    expected = destination.transform_event(untimed, settings, 1_700_000_000.123)
    assert expected["status"] == "ok"
    assert sent["event_id"] == expected["payload"]["data"][0]["event_id"]
    assert [record["status"] for record in outcomes(redis_client)] == ["delivered"]


def test_bad_input_goes_to_the_dead_letter_stream_and_does_not_block_the_rest(
    redis_client: redis.Redis, tiktok: FakeTikTok
) -> None:
    tiktok.bad_event_ids.add("poison")
    good = add_events(redis_client, [event(f"g{i}") for i in range(4)])
    [rejected] = add_events(redis_client, [event("poison")])
    [invalid] = add_events(redis_client, [event("late", context={"event_timestamp": "yesterday"})])
    not_json = add_raw(redis_client, {EVENT_FIELD: "{not json"})
    no_event = add_raw(redis_client, {"other": "x"})
    good += add_events(redis_client, [event(f"h{i}") for i in range(4)])
    assert run(make_worker(redis_client, worker_settings(tiktok))) is Verdict.DONE
    assert sorted(tiktok.event_ids) == sorted(
        [f"g{i}" for i in range(4)] + [f"h{i}" for i in range(4)]
    )
    by_entry = {record["entry"]: record for record in outcomes(redis_client)}
    assert {by_entry[entry]["status"] for entry in good} == {"delivered"}
    assert by_entry[rejected]["status"] == "rejected"
    assert by_entry[rejected]["code"] == "40002"
    assert by_entry[invalid]["status"] == "invalid"
    assert by_entry[invalid]["message"].startswith("event_timestamp:")
    assert by_entry[not_json]["message"].startswith("event: not JSON")
    assert by_entry[no_event]["message"] == "entry: no 'event' field"
    letters = {letter["entry"]: letter for letter in dead(redis_client)}
    assert set(letters) == {rejected, invalid, not_json, no_event}
    assert json.loads(letters[rejected]["event"])["id"] == "poison"  # kept for a replay
    assert letters[invalid]["reason"] == by_entry[invalid]["message"]
    assert letters[not_json]["event"] == "{not json"
    assert pending(redis_client) == 0


def test_an_entry_delivered_too_many_times_is_dead_without_being_sent(
    redis_client: redis.Redis, tiktok: FakeTikTok
) -> None:
    [entry] = add_events(redis_client, [event("crasher")])
    ghost = GroupConsumer(redis_client, STREAM, DEFAULT_GROUP, "ghost")
    ghost.join()
    ghost.read(10, 10)
    for _ in range(MAX_DELIVERIES - 1):  # each claim is one more delivery
        redis_client.xclaim(STREAM, DEFAULT_GROUP, "ghost", 0, [entry])
    assert (
        run(make_worker(redis_client, worker_settings(tiktok), claim_after_s=0.05)) is Verdict.DONE
    )
    assert tiktok.requests == []
    [letter] = dead(redis_client)
    assert letter["entry"] == entry
    assert letter["status"] == "dead"
    assert f"after {MAX_DELIVERIES} deliveries" in letter["reason"]
    assert pending(redis_client) == 0


def test_failed_entries_stay_pending_and_are_retried_later(
    redis_client: redis.Redis, tiktok: FakeTikTok
) -> None:
    tiktok.fail_next(HttpStatus(503))
    ids = add_events(redis_client, [event(f"e{i}") for i in range(3)])
    worker = make_worker(redis_client, worker_settings(tiktok), claim_after_s=0.3, idle_s=1.0)
    assert run(worker) is Verdict.DONE
    assert len(tiktok.requests) == 2  # the failed request, then the retry after a claim
    assert sorted(tiktok.event_ids) == ["e0", "e1", "e2"]
    records = outcomes(redis_client)
    assert sorted(record["entry"] for record in records) == sorted(ids)  # exactly one each
    assert {record["status"] for record in records} == {"delivered"}
    assert worker.metrics.events.labels(status="failed")._value.get() == 3


def test_an_entry_held_by_two_workers_gets_one_outcome(
    redis_client: redis.Redis, tiktok: FakeTikTok
) -> None:
    ids = add_events(redis_client, [event(f"e{i}") for i in range(3)])
    settings = worker_settings(tiktok)
    first = make_worker(redis_client, settings, consumer="first")
    first.reader.join()
    entries = first.reader.read(10, 10)
    # A second worker takes them over, thinking the first one dead, and finishes them.
    assert (
        run(make_worker(redis_client, settings, consumer="second", claim_after_s=0.01))
        is Verdict.DONE
    )
    first.batches.take(entries)
    first.batches.flush_all()  # the first one was only slow: it sends them too
    assert Counter(tiktok.event_ids) == {"e0": 2, "e1": 2, "e2": 2}
    assert sorted(record["entry"] for record in outcomes(redis_client)) == sorted(ids)


def test_the_token_never_reaches_redis(redis_client: redis.Redis, tiktok: FakeTikTok) -> None:
    add_events(redis_client, [event("e0"), event("bad", context={"event_timestamp": "x"})])
    assert run(make_worker(redis_client, worker_settings(tiktok))) is Verdict.DONE
    for key in redis_client.keys("*"):
        assert TOKEN not in key
        if redis_client.type(key) == "stream":
            assert TOKEN not in json.dumps(redis_client.xrange(key))


def test_a_worker_busy_longer_than_the_idle_limit_does_not_exit_early(
    redis_client: redis.Redis, tiktok: FakeTikTok
) -> None:
    tiktok.policy = lambda _number, _body: time.sleep(0.4)
    add_events(redis_client, [event(f"e{i}") for i in range(12)])
    worker = make_worker(redis_client, worker_settings(tiktok, batch_size=4), idle_s=0.3)
    assert run(worker) is Verdict.DONE
    assert len(tiktok.event_ids) == 12  # each request outlasts the idle limit, yet all went
    assert pending(redis_client) == 0


def test_a_slow_batch_is_kept_by_its_live_worker_not_claimed_and_sent_twice(
    redis_client: redis.Redis, tiktok: FakeTikTok
) -> None:
    sending = threading.Event()

    def policy(number: int, _body: object) -> None:
        if number == 0:
            sending.set()
            time.sleep(3.0)

    tiktok.policy = policy
    add_events(redis_client, [event(f"e{i}") for i in range(5)])
    settings = worker_settings(tiktok)
    slow = make_worker(redis_client, settings, consumer="slow", claim_after_s=1.0, idle_s=0.5)
    eager = make_worker(redis_client, settings, consumer="eager", claim_after_s=1.0, idle_s=4.0)
    codes: list[Verdict] = []
    thread = threading.Thread(target=lambda: codes.append(run(slow)))
    thread.start()
    assert sending.wait(RUN_TIMEOUT_S)
    assert run(eager) is Verdict.DONE  # it claims every 0.5 s while the slow request lasts 3 s
    thread.join(RUN_TIMEOUT_S)
    assert codes == [Verdict.DONE]
    assert sorted(tiktok.event_ids) == [f"e{i}" for i in range(5)]  # each sent once
    assert len(outcomes(redis_client)) == 5


def test_a_worker_sends_several_full_batches_side_by_side(redis_client: redis.Redis) -> None:
    with FakeTikTok(TOKEN, latency_s=0.2) as tiktok:
        add_events(redis_client, [event(f"e{i}") for i in range(40)])
        settings = worker_settings(tiktok, batch_size=10, max_concurrent_requests=4)
        assert run(make_worker(redis_client, settings)) is Verdict.DONE
        assert len(tiktok.requests) == 4
        assert tiktok.most_in_flight() > 1  # one read of 40 entries, requests overlapping
    assert len(outcomes(redis_client)) == 40


def test_an_entry_taken_again_while_held_is_sent_once(
    redis_client: redis.Redis, tiktok: FakeTikTok
) -> None:
    ids = add_events(redis_client, [event(f"e{i}") for i in range(3)])
    worker = make_worker(redis_client, worker_settings(tiktok, batch_size=10), claim_after_s=0.01)
    worker.reader.join()
    entries = worker.reader.read(10, 10)
    worker.batches.take(entries)  # buffered: the batch is not full
    time.sleep(0.05)
    claimed = worker.reader.claim(10, 10)  # idle past the claim delay: its own entries again
    assert [entry.id for entry in claimed] == ids
    worker.batches.take(claimed)
    worker.batches.flush_all()
    assert sorted(tiktok.event_ids) == ["e0", "e1", "e2"]  # each sent once
    assert sorted(record["entry"] for record in outcomes(redis_client)) == sorted(ids)
    assert worker.batches.held_bytes() == 0


def test_every_outcome_names_its_event_when_it_can(
    redis_client: redis.Redis, tiktok: FakeTikTok
) -> None:
    [skipped] = add_events(redis_client, [event("skip-1", event_name="no_such_event")])
    [numbered] = add_events(redis_client, [{"event_name": "no_such_event", "id": 42}])
    [contextual] = add_events(
        redis_client, [{"event_name": "no_such_event", "context": {"event_id": "ctx-7"}}]
    )
    [invalid] = add_events(redis_client, [event("bad-1", context={"event_timestamp": "never"})])
    [anonymous] = add_events(
        redis_client, [{"event_name": "add_to_cart", "context": {"event_timestamp": "never"}}]
    )
    not_json = add_raw(redis_client, {EVENT_FIELD: '{"id": "half-1", '})
    no_event = add_raw(redis_client, {"other": '{"id": "other-1"}'})
    not_utf8 = str(redis_client.xadd(STREAM, {EVENT_FIELD: '{"id": "raw-1"}', b"\xff": b"x"}))
    [delivered] = add_events(redis_client, [event("ok-1")])
    [crasher] = add_events(redis_client, [event("crash-1")])
    ghost = GroupConsumer(redis_client, STREAM, DEFAULT_GROUP, "ghost")
    ghost.join()
    ghost.read(100, 10)
    # Held by a consumer that died, the crasher once too often: it is dead on its next delivery.
    redis_client.xclaim(STREAM, DEFAULT_GROUP, "ghost", 0, [crasher], retrycount=MAX_DELIVERIES)
    worker = make_worker(redis_client, worker_settings(tiktok), claim_after_s=0.05)
    assert run(worker) is Verdict.DONE
    by_entry = {record["entry"]: record for record in outcomes(redis_client)}
    assert {
        entry: (record["status"], record["event_id"]) for entry, record in by_entry.items()
    } == {
        skipped: ("skipped", "skip-1"),
        numbered: ("skipped", "42"),
        contextual: ("skipped", "ctx-7"),
        invalid: ("invalid", "bad-1"),
        anonymous: ("invalid", ""),
        not_json: ("invalid", ""),
        no_event: ("invalid", ""),
        not_utf8: ("invalid", ""),  # unreadable: its id is not trusted
        delivered: ("delivered", "ok-1"),
        crasher: ("dead", "crash-1"),
    }
    assert pending(redis_client) == 0
