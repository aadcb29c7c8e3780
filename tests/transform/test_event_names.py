"""Event names by source (README "Event names"): the most specific ``event_mapping`` row wins,
and offline events take TikTok's standard events only."""

from __future__ import annotations

import difflib
from typing import Any

import pytest

from tiktok_destination.facts import EVENT_SOURCES, STANDARD_EVENTS
from tiktok_destination.fields import EVENT_TABLE
from tiktok_destination.settings import make_config, validate
from tiktok_destination.transform.event import UNMAPPED_KEPT, UNMAPPED_NAME_CHARS, transform

NOW = 1_700_000_000.0

BASE = {"access_token": "tok", "pixel_id": "P", "app_id": "A", "offline_event_set_id": "O"}


def test_every_tiktok_name_of_the_table_is_standard() -> None:
    names = {name for row in EVENT_TABLE for name in (row.web, row.app) if name}
    assert names <= STANDARD_EVENTS
    assert {"Purchase", "CompletePayment", "InAppADImpr"} <= STANDARD_EVENTS
    assert "InAppAdImpr" not in STANDARD_EVENTS  # names are case-sensitive


def _names(*rows: dict[str, str]) -> dict[str, str | None]:
    config = make_config({**BASE, "event_mapping": list(rows)})
    return {source: config.event_names[source].get("purchase") for source in EVENT_SOURCES}


ANY = {"event": "purchase", "tiktok_event": "Any"}
WEB = {"event": "purchase", "tiktok_event": "Web", "event_source": "web"}
APP = {"event": "purchase", "tiktok_event": "App", "event_source": "app"}
OFFLINE = {"event": "purchase", "tiktok_event": "Offline", "event_source": "offline"}
CRM = {"event": "purchase", "tiktok_event": "Crm", "event_source": "crm"}
BUILT_IN = {"web": "CompletePayment", "app": "Checkout", "offline": "CompletePayment"}


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ((), {**BUILT_IN, "crm": "CompletePayment"}),
        ((ANY,), {"web": "Any", "app": "Any", "offline": "Any", "crm": "Any"}),
        ((WEB,), {"web": "Web", "app": "Checkout", "offline": "Web", "crm": "Web"}),
        ((ANY, WEB), {"web": "Web", "app": "Any", "offline": "Web", "crm": "Web"}),
        ((WEB, ANY), {"web": "Web", "app": "Any", "offline": "Web", "crm": "Web"}),
        ((OFFLINE, WEB), {"web": "Web", "app": "Checkout", "offline": "Offline", "crm": "Web"}),
        ((CRM,), {**BUILT_IN, "crm": "Crm"}),
        ((APP, ANY), {"web": "Any", "app": "App", "offline": "Any", "crm": "Any"}),
        (
            (CRM, OFFLINE, APP, WEB, ANY),
            {"web": "Web", "app": "App", "offline": "Offline", "crm": "Crm"},
        ),
    ],
)
def test_the_most_specific_row_wins(
    rows: tuple[dict[str, str], ...], expected: dict[str, str]
) -> None:
    assert _names(*rows) == expected


@pytest.mark.parametrize("source", ["web", "app", "offline", "crm"])
def test_every_source_can_be_named_in_a_row(source: str) -> None:
    assert validate({**BASE, "event_mapping": [{**ANY, "event_source": source}]}) == []


def test_an_unknown_row_source_is_refused() -> None:
    problems = validate({**BASE, "event_mapping": [{**ANY, "event_source": "tv"}]})
    assert problems and problems[0].startswith("event_mapping[0].event_source")


def test_the_same_event_twice_for_one_source_is_refused() -> None:
    rows: list[dict[str, Any]] = [OFFLINE, {**OFFLINE, "tiktok_event": "Other"}, WEB]
    problems = validate({**BASE, "event_mapping": rows})
    assert any("event_mapping[1]" in problem for problem in problems)


def test_skip_reasons_are_worked_out_once_per_name_and_kept_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An unmapped name's reason (with its "did you mean" search) is kept per settings: the same
    name again costs a look-up; at most ``UNMAPPED_KEPT`` names, none longer than the bound."""
    config = make_config({"access_token": "t", "pixel_id": "P"})
    searches: list[str] = []
    search = difflib.get_close_matches

    def counted(word: str, *args: Any, **kwargs: Any) -> list[str]:
        searches.append(word)
        return search(word, *args, **kwargs)

    monkeypatch.setattr(difflib, "get_close_matches", counted)
    first = transform({"event_name": "purchse"}, config, NOW)
    again = transform({"event_name": "purchse"}, config, NOW)
    assert first == again and first["status"] == "skipped"
    assert "did you mean" in first["reason"] and searches == ["purchse"]
    transform({"event_name": "x" * (UNMAPPED_NAME_CHARS + 1)}, config, NOW)
    for index in range(2 * UNMAPPED_KEPT):
        transform({"event_name": f"custom_{index}"}, config, NOW)
    assert len(config.unmapped) == UNMAPPED_KEPT
    assert all(len(name) <= UNMAPPED_NAME_CHARS for name, _source in config.unmapped)
