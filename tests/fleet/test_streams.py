"""The Redis pieces of the worker alone: group reader, finisher, shared gate."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis
from support.worker_helpers import STREAM, add_events, dead, event, outcomes

from tiktok_destination.fleet.acknowledging import Acknowledger, Final
from tiktok_destination.fleet.gate import MAX_PAUSE_S, SharedGate, settings_key
from tiktok_destination.fleet.heartbeat import TTL_S, Heartbeat, heartbeat_key
from tiktok_destination.fleet.streams import DEFAULT_GROUP, GroupConsumer


def test_a_live_worker_keeps_its_entries_and_never_takes_back_claimed_ones(
    redis_client: redis.Redis,
) -> None:
    ids = add_events(redis_client, [event(f"e{i}") for i in range(5)])
    slow = GroupConsumer(redis_client, STREAM, DEFAULT_GROUP, "slow")
    other = GroupConsumer(redis_client, STREAM, DEFAULT_GROUP, "other")
    slow.join()
    assert [entry.id for entry in slow.read(10, 10)] == ids
    for _ in range(6):  # 0.6 s of keeping, claims asking for 1 s of idleness
        assert slow.keep(ids) == 5
        assert other.claim(1000, 10) == []
        time.sleep(0.1)
    time.sleep(1.1)  # the slow one stops keeping: now they are claimed
    claimed = other.claim(1000, 10)
    assert [entry.id for entry in claimed] == ids
    assert {entry.deliveries for entry in claimed} == {2}
    assert slow.keep(ids) == 0
    mine: Any = redis_client.xpending_range(STREAM, DEFAULT_GROUP, "-", "+", 10, "other")
    assert len(mine) == 5


def test_finishing_twice_records_one_outcome(redis_client: redis.Redis) -> None:
    ids = add_events(redis_client, [event("a"), event("b")])
    reader = GroupConsumer(redis_client, STREAM, DEFAULT_GROUP, "w")
    reader.join()
    reader.read(10, 10)
    finisher = Acknowledger(redis_client, STREAM, DEFAULT_GROUP)
    finals = [
        Final(ids[0], "delivered", "OK", "a", 0),
        Final(ids[1], "rejected", "bad", "b", 40002, '{"id": "b"}'),
    ]
    assert finisher.finish(finals) == 2
    assert finisher.finish(finals) == 0  # a second worker holding them too
    group = {"group": DEFAULT_GROUP}
    assert outcomes(redis_client) == [
        {"entry": ids[0], "status": "delivered", "event_id": "a", "code": "0", "message": "OK"}
        | group,
        {"entry": ids[1], "status": "rejected", "event_id": "b", "code": "40002", "message": "bad"}
        | group,
    ]
    assert dead(redis_client) == [
        {"entry": ids[1], "status": "rejected", "reason": "bad", "event": '{"id": "b"}'} | group
    ]
    assert redis_client.xlen(STREAM) == 2  # acknowledged, not deleted: other groups read it


def test_the_settings_key_names_no_token() -> None:
    key = settings_key("https://example.test/", "tt-SECRET")
    assert "SECRET" not in key
    assert key != settings_key("https://example.test/", "tt-other")
    assert key != settings_key("https://other.test/", "tt-SECRET")


def test_a_stop_is_seen_by_every_gate_of_the_settings(redis_client: redis.Redis) -> None:
    one, two = SharedGate(redis_client, "k"), SharedGate(redis_client, "k")
    elsewhere = SharedGate(redis_client, "other")
    assert two.before_request() is None
    one.stop("access_token: refused")
    one.stop("a later reason")
    assert two.before_request() == "access_token: refused"
    assert two.stopped() == "access_token: refused"
    assert elsewhere.before_request() is None


def test_a_pause_holds_every_gate_until_it_ends(redis_client: redis.Redis) -> None:
    one, two = SharedGate(redis_client, "k"), SharedGate(redis_client, "k")
    one.pause(0.5)
    one.pause(0.1)  # a shorter pause does not cut a longer one
    started = time.monotonic()
    assert two.before_request() is None
    assert time.monotonic() - started >= 0.4
    assert two.pause_left() == 0
    one.pause(10 * MAX_PAUSE_S)
    assert MAX_PAUSE_S - 1 < two.pause_left() <= MAX_PAUSE_S


def test_an_outcome_redis_cannot_write_leaves_the_entry_pending(redis_client: redis.Redis) -> None:
    [entry] = add_events(redis_client, [event("a")])
    reader = GroupConsumer(redis_client, STREAM, DEFAULT_GROUP, "w")
    reader.join()
    reader.read(10, 10)
    finisher = Acknowledger(redis_client, STREAM, DEFAULT_GROUP)
    redis_client.config_set("maxmemory", 1)  # every write that allocates is refused
    try:
        with pytest.raises(redis.ResponseError, match="maxmemory"):
            finisher.finish([Final(entry, "delivered", "OK", "a", 0)])
    finally:
        redis_client.config_set("maxmemory", 0)
    assert reader.pending() == 1  # not acknowledged without its outcome
    assert outcomes(redis_client) == []
    assert finisher.finish([Final(entry, "delivered", "OK", "a", 0)]) == 1


def test_stopped_consumers_holding_nothing_are_forgotten(redis_client: redis.Redis) -> None:
    first, second = add_events(redis_client, [event("a"), event("b")])
    holder, gone, me = (GroupConsumer(redis_client, STREAM, DEFAULT_GROUP, n) for n in "hgm")
    holder.join()
    assert [entry.id for entry in holder.read(1, 10)] == [first]
    assert [entry.id for entry in gone.read(1, 10)] == [second]
    redis_client.xack(STREAM, DEFAULT_GROUP, second)  # "g" finished its entry, then stopped
    time.sleep(0.05)
    assert me.forget_idle(60_000) == 0  # not silent long enough
    assert me.forget_idle(30) == 1
    rows: Any = redis_client.xinfo_consumers(STREAM, DEFAULT_GROUP)
    assert [(row["name"], row["pending"]) for row in rows] == [("h", 1)]  # a holder stays


def test_entries_are_claimed_from_a_consumer_only_when_it_is_gone(
    redis_client: redis.Redis,
) -> None:
    ids = add_events(redis_client, [event(f"e{i}") for i in range(4)])
    old = GroupConsumer(redis_client, STREAM, DEFAULT_GROUP, "old")
    new = GroupConsumer(redis_client, STREAM, DEFAULT_GROUP, "new")
    third = GroupConsumer(redis_client, STREAM, DEFAULT_GROUP, "third")
    old.join()
    assert len(old.read(10, 10)) == 4
    beat = Heartbeat(redis_client, STREAM, DEFAULT_GROUP, "old")
    beat.beat()
    assert 0 < redis_client.pttl(heartbeat_key(STREAM, DEFAULT_GROUP, "old")) <= TTL_S * 1000
    assert new.claim_from("old", beat.key, 0, 10) == []  # its heartbeat is there: alive
    beat.stop()
    # No heartbeat, but Redis heard from it less than a minute ago (a worker keeping none).
    assert new.claim_from("old", beat.key, 60_000, 10) == []
    claimed = new.claim_from("old", beat.key, 0, 3)
    assert [entry.id for entry in claimed] == ids[:3]
    assert {entry.deliveries for entry in claimed} == {2}
    assert third.claim_from("old", beat.key, 0, 10)[0].id == ids[3]
    assert third.claim_from("new", heartbeat_key(STREAM, DEFAULT_GROUP, "new"), 60_000, 10) == []
    mine = new.claim_from("new", "unused", 60_000, 10, ask=False)  # its own, at its start
    assert [entry.id for entry in mine] == ids[:3]
    assert new.holders() == {"new": 3, "third": 1}
