"""The batch hook gives, event by event, exactly what the per-event hook gives, with its guarantees.

``cdp_destination_transform_batch`` is held to the per-event hook's contract: one outcome per
event in order, each equal to the per-event outcome (golden cases and generated events alike),
never an exception (bad settings, events that break the transform, a batch that is not a list),
and ``None`` for another destination.
"""

from __future__ import annotations

import copy
import gc
import json
from collections.abc import Iterator
from typing import Any

import pluggy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.profiles import examples
from test_golden import CASES, EVENTS, _load, _settings
from test_properties import VARIANTS, event_shaped, json_values, mutated_events

from tiktok_destination import destination, hookspecs, plugin

NOW = 1_700_000_000.5
SETTINGS = {"access_token": "batch-token", "pixel_id": "PIXEL", "app_id": "APP"}


@pytest.fixture
def hook() -> Iterator[Any]:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    manager.register(plugin)
    try:
        yield manager.hook
    finally:
        manager.unregister(plugin)


class Hostile(str):
    """An event name that breaks whatever hashes it: a host's own string type gone wrong.

    (Not a dict whose ``get`` raises: the modules compiled by mypyc read a dict subclass directly,
    past its overridden methods; README "Compiled speed-up".)
    """

    def __hash__(self) -> int:
        raise RuntimeError("hostile")


def _same_as_one_by_one(events: list[Any], settings: dict[str, Any], now: float) -> None:
    before = json.dumps(events, sort_keys=True, default=repr)
    batch = destination.transform_events(events, settings, now)
    assert json.dumps(events, sort_keys=True, default=repr) == before, "the events were changed"
    one_by_one = [destination.transform_event(event, settings, now) for event in events]
    assert batch == one_by_one


def test_golden_cases_in_one_batch_per_settings() -> None:
    groups: dict[tuple[str, float], list[Any]] = {}
    for case in CASES:
        spec = _load(EVENTS, case)
        key = (json.dumps(_settings(spec.get("settings", {})), sort_keys=True), spec["now"])
        groups.setdefault(key, []).append(spec["event"])
    assert sum(map(len, groups.values())) == len(CASES)
    for (settings_text, now), events in groups.items():
        _same_as_one_by_one(copy.deepcopy(events), json.loads(settings_text), now)


@settings(max_examples=examples(300))
@given(
    events=st.lists(st.one_of(json_values, event_shaped, mutated_events()), max_size=8),
    variant=st.sampled_from(sorted(VARIANTS)),
)
def test_any_events_give_one_outcome_each_in_order(events: list[Any], variant: str) -> None:
    _same_as_one_by_one(events, VARIANTS[variant]["settings"], NOW)


def test_through_the_hook(hook: Any) -> None:
    events = [
        {"event_name": "purchase", "id": "o-1", "value": 10, "currency": "EUR"},
        {"event_name": "newsletter_open"},
        {"event_name": "purchase", "context": {"event_timestamp": "yesterday"}},
        "not an event",
        {"event_name": "add_to_cart", "id": "c-2"},
    ]
    outcomes = hook.cdp_destination_transform_batch(
        destination="tiktok", events=events, settings=SETTINGS
    )
    assert [outcome["status"] for outcome in outcomes] == [
        "ok",
        "skipped",
        "invalid",
        "invalid",
        "ok",
    ]
    ids = [outcomes[i]["payload"]["data"][0]["event_id"] for i in (0, 4)]
    assert ids == ["o-1", "c-2"]
    assert outcomes[2]["error"].startswith("event_timestamp:")
    other = hook.cdp_destination_transform_batch(destination="x", events=events, settings=SETTINGS)
    assert other is None
    assert (
        hook.cdp_destination_transform_batch(destination="tiktok", events=[], settings=SETTINGS)
        == []
    )


def test_bad_settings_make_every_event_invalid(hook: Any) -> None:
    outcomes = hook.cdp_destination_transform_batch(
        destination="tiktok",
        events=[{"event_name": "purchase"}, {"event_name": "add_to_cart"}],
        settings={"access_token": "t", "pixel_id": 5},
    )
    assert len(outcomes) == 2
    for outcome in outcomes:
        assert outcome["status"] == "invalid" and "pixel_id" in outcome["error"]


@pytest.mark.parametrize("events", [None, {"event_name": "purchase"}, "purchase", 42])
def test_a_batch_that_is_not_a_list_gets_one_invalid_outcome(hook: Any, events: Any) -> None:
    outcomes = hook.cdp_destination_transform_batch(
        destination="tiktok", events=events, settings=SETTINGS
    )
    assert len(outcomes) == 1 and outcomes[0]["status"] == "invalid"
    assert outcomes[0]["error"].startswith("events: expected a list of events")


def test_an_event_that_breaks_the_transform_spoils_only_itself(hook: Any) -> None:
    hostile = {"event_name": Hostile("add_to_cart")}
    events = [{"event_name": "add_to_cart", "id": "a"}, hostile, {"event_name": "add_to_cart"}]
    outcomes = hook.cdp_destination_transform_batch(
        destination="tiktok", events=events, settings=SETTINGS
    )
    assert [outcome["status"] for outcome in outcomes] == ["ok", "invalid", "ok"]
    assert outcomes[1]["error"] == "event: could not be transformed (RuntimeError)"
    single = hook.cdp_destination_transform(destination="tiktok", event=hostile, settings=SETTINGS)
    assert single == outcomes[1]


def _collections_during(run: Any) -> int:
    """How many garbage collections start while ``run()`` runs."""
    started: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(info["generation"])

    gc.callbacks.append(count)
    try:
        run()
    finally:
        gc.callbacks.remove(count)
    return len(started)


@pytest.mark.parametrize("enabled", [True, False])
def test_a_batch_pauses_the_collector_and_leaves_it_as_it_was(
    enabled: bool,
) -> None:
    text = json.dumps(_load(EVENTS, "mapping_purchase_to_purchase"))
    events = [json.loads(text) for _ in range(6000)]
    destination.transform_events(events[:1], SETTINGS, NOW)  # the settings compiled before
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        kept: list[Any] = []
        gc.collect()  # allocations made before count from zero
        during = _collections_during(
            lambda: kept.append(destination.transform_events(events, SETTINGS, NOW))
        )
        # at most the one the batch's allocations call for once the collector is back
        assert during <= 1 and len(kept[0]) == len(events)
        assert gc.isenabled() is enabled
        # the same work event by event, outcomes kept as a batch keeps them, does collect
        one_by_one = _collections_during(
            lambda: kept.append([destination.transform_event(e, SETTINGS, NOW) for e in events])
        )
        assert one_by_one >= 4 or not enabled
    finally:
        (gc.enable if was else gc.disable)()
