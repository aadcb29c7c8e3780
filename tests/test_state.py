"""The process state: settings compiled once per content, LRU and byte bounds, sessions closed on
eviction, refused tokens remembered by hash, and the hooks safe under many threads and tenants."""

from __future__ import annotations

import json
import random
import sys
import threading
from typing import Any

import pluggy
import pytest
from support.helpers import TOKEN
from support.tiktok_server import BodyCode, FakeTikTok, payload

from tiktok_destination import state
from tiktok_destination.errors import SettingsError
from tiktok_destination.state import State

VALID = {"access_token": TOKEN, "pixel_id": "PIXEL"}


def tenant(n: int, url: str, **more: Any) -> dict[str, Any]:
    return {**VALID, "pixel_id": f"PIXEL{n}", "api_url": url, **more}


def ports(server: FakeTikTok) -> set[int]:
    return {request.client_port for request in server.requests}


def test_tenants_in_rotation_are_compiled_once() -> None:
    cache = State()
    tenants = [tenant(n, "https://example.test/") for n in range(17)]
    for _ in range(20):
        for settings in tenants:
            assert cache.config_for(settings).source_ids["web"] == settings["pixel_id"]
        for settings in tenants:  # a host may build the same settings afresh for every call
            assert cache.config_for(dict(settings)).source_ids["web"] == settings["pixel_id"]
    assert cache.configs_made == 17


def test_settings_changed_in_place_are_read_again() -> None:
    # The same object, passed again and again, is found without a look-up while it is equal to
    # its snapshot: a host changing it in place between two calls gets the new settings.
    cache = State()
    settings = {**VALID, "pixel_id": "BEFORE"}
    assert cache.config_for(settings) is cache.config_for(settings)
    settings["pixel_id"] = "AFTER"
    assert cache.config_for(settings).source_ids["web"] == "AFTER"
    settings["pixel_id"] = ""
    with pytest.raises(SettingsError):
        cache.config_for(settings)
    settings["pixel_id"] = "BEFORE"
    assert cache.config_for(settings).source_ids["web"] == "BEFORE"
    assert cache.configs_made == 3


def test_close_forgets_every_config_the_last_looked_up_too() -> None:
    cache = State()
    settings = {**VALID, "pixel_id": "P1"}
    made = cache.config_for(settings)
    cache.close()
    assert cache.config_for(settings) is not made
    assert cache.configs_made == 2


def test_the_least_recently_used_settings_go_first() -> None:
    cache = State(max_tenants=2)
    first, second, third = ({**VALID, "pixel_id": f"P{n}"} for n in range(3))
    compiled = cache.config_for(first)
    cache.config_for(second)
    assert cache.config_for(first) is compiled  # first is now the most recently used
    cache.config_for(third)  # evicts second
    assert cache.config_for(first) is compiled
    assert cache.configs_made == 3
    cache.config_for(second)
    assert cache.configs_made == 4


def test_settings_over_the_byte_budget_are_compiled_but_not_kept() -> None:
    cache = State(max_bytes=2000)
    small = {**VALID}
    huge = {**VALID, "test_event_code": "T" * 5000}
    assert cache.config_for(huge).test_event_code == huge["test_event_code"]
    assert cache.config_for(huge) is not cache.config_for(huge)
    assert cache.config_for(small) is cache.config_for(small)
    assert cache.configs_made == 4


def test_invalid_settings_raise_every_time_and_name_no_token() -> None:
    cache = State()
    bad = {**VALID, "batch_size": 0}
    for _ in range(2):
        with pytest.raises(SettingsError) as raised:
            cache.config_for(bad)
        assert raised.value.problems[0].startswith("batch_size:")
        assert TOKEN not in str(raised.value)
    assert cache.configs_made == 1


def test_an_evicted_deliverer_closes_its_session_once_unused(tiktok: FakeTikTok) -> None:
    cache = State(max_tenants=1)
    first, second = tenant(1, tiktok.url), tenant(2, tiktok.url)
    with cache.deliverer_for(first) as deliverer:
        assert deliverer.send([payload("a1")])[0]["status"] == "delivered"
        with cache.deliverer_for(second) as other:  # evicts first, which is still in use
            assert other.send([payload("b1")])[0]["status"] == "delivered"
        assert deliverer.send([payload("a2")])[0]["status"] == "delivered"
        assert len(ports(tiktok)) == 2  # first's connection stayed open while in use
    assert deliverer.send([payload("a3")])[0]["status"] == "delivered"
    assert len(ports(tiktok)) == 3  # its session was closed: a new connection was needed
    with cache.deliverer_for(first) as again:
        assert again is not deliverer  # made afresh


def test_close_closes_every_session(tiktok: FakeTikTok) -> None:
    cache = State()
    with cache.deliverer_for(tenant(1, tiktok.url)) as deliverer:
        deliverer.send([payload("a1")])
    cache.close()
    deliverer.send([payload("a2")])
    assert len(ports(tiktok)) == 2


def test_a_refused_token_is_not_sent_again_by_any_settings(
    host: pluggy.PluginManager, tiktok: FakeTikTok, monkeypatch: pytest.MonkeyPatch
) -> None:
    process = State(max_tenants=1)  # every other call evicts: deliverers are made afresh
    monkeypatch.setattr(state, "_state", process)
    tiktok.fail_next(BodyCode(40105, "Access token is incorrect or has been revoked"))
    outcomes = []
    for n in range(40):
        outcomes += host.hook.cdp_destination_send(
            destination="tiktok", payloads=[payload(f"e{n}")], settings=tenant(n % 2, tiktok.url)
        )
    assert len(tiktok.requests) == 1
    assert {outcome["status"] for outcome in outcomes} == {"failed"}
    assert all("access_token" in outcome["message"] for outcome in outcomes)
    assert TOKEN not in json.dumps(outcomes) + repr(process._refused._entries)
    assert process.configs_made == 40
    # Another endpoint is another question: the token is tried there.
    with FakeTikTok(TOKEN) as elsewhere:
        outcome = host.hook.cdp_destination_send(
            destination="tiktok", payloads=[payload("x")], settings=tenant(0, elsewhere.url)
        )
        assert outcome[0]["status"] == "delivered"


THREADS, TENANTS, CALLS, PER_SEND = 8, 64, 600, 6
WRONG_TOKENS = (62, 63)
INVALID = (60, 61)


def _settings(n: int, url: str) -> dict[str, Any]:
    if n in WRONG_TOKENS:
        return tenant(n, url, access_token=f"wrong-{TOKEN}-{n}")
    if n in INVALID:
        return tenant(n, url, batch_size=0)
    return tenant(n, url, batch_size=3 + n % 4)


def test_hooks_never_raise_nor_leak_under_threads_and_tenants(
    host: pluggy.PluginManager, tiktok: FakeTikTok, monkeypatch: pytest.MonkeyPatch
) -> None:
    """8 threads, 64 tenants (some invalid, some with a refused token), the process state small
    enough to evict all the time, settings passed as the same dicts or as fresh equal ones."""
    monkeypatch.setattr(state, "_state", State(max_tenants=60))
    tenants = [_settings(n, tiktok.url) for n in range(TENANTS)]
    raised: list[BaseException] = []
    results: list[tuple[int, str, dict[str, Any]]] = []
    lock = threading.Lock()

    def work(thread: int) -> None:
        rng = random.Random(thread)
        pending: dict[int, list[dict[str, Any]]] = {}
        mine: list[tuple[int, str, dict[str, Any]]] = []
        try:
            for call in range(CALLS):
                n = rng.randrange(TENANTS)
                settings = tenants[n] if rng.random() < 0.5 else json.loads(json.dumps(tenants[n]))
                event = {"event_name": "search", "id": f"{n}-{thread}-{call}", "search_term": "x"}
                outcome = host.hook.cdp_destination_transform(
                    destination="tiktok", event=event, settings=settings
                )
                mine.append((n, "transform", outcome))
                if outcome["status"] == "ok":
                    pending.setdefault(n, []).append(outcome["payload"])
                if n in INVALID:  # bad settings fail the send too
                    pending.setdefault(n, []).append(payload(event["id"]))
                if len(pending.get(n, [])) >= PER_SEND:
                    sent = host.hook.cdp_destination_send(
                        destination="tiktok", payloads=pending.pop(n), settings=settings
                    )
                    mine += [(n, "send", outcome) for outcome in sent]
        except BaseException as error:
            raised.append(error)
        with lock:
            results.extend(mine)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch as often as they can: races show
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
    finally:
        sys.setswitchinterval(interval)
    assert not any(worker.is_alive() for worker in workers)
    assert raised == []
    assert len([r for r in results if r[1] == "transform"]) == THREADS * CALLS
    assert TOKEN not in json.dumps(results)
    for n, hook, outcome in results:
        if n in INVALID:
            expected = "invalid" if hook == "transform" else "failed"
            assert outcome["status"] == expected and "batch_size" in str(outcome)
        elif hook == "transform":
            assert outcome["status"] == "ok"
        elif n in WRONG_TOKENS:
            assert outcome["status"] == "failed" and "access_token" in outcome["message"]
        else:
            assert outcome["status"] == "delivered", outcome
    delivered = [o for n, hook, o in results if hook == "send" and o["status"] == "delivered"]
    assert len(tiktok.event_ids) == len(set(tiktok.event_ids)) == len(delivered) > 1000
    refused = [
        r for r in tiktok.requests if r.event_ids and r.event_ids[0].split("-")[0] in {"62", "63"}
    ]
    assert len(refused) <= len(WRONG_TOKENS) * THREADS  # then remembered: not sent again
