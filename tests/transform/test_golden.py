"""Golden fixtures: one named scenario per case, run through the real transform.

``tests/fixtures/events/<case>.json`` holds ``description``, ``settings`` (merged onto ``BASE``; a
``null`` removes that key from ``BASE``), ``now`` (the clock handed to the transform) and ``event``.
``tests/fixtures/payloads/<case>.json`` holds the expected outcome, written from the README by hand:

- ``{"status": "ok", "payload": {...}}`` (plus ``"warnings": [...]`` when the transform warns):
  the outcome must equal it exactly (warnings in any order); the payload must also validate against
  ``schemas/event-track-request.schema.json`` and carry no clear-text email or phone of the event;
- ``{"status": "skipped", "reason_contains": [...]}`` / ``{"status": "invalid",
  "error_contains": [...]}``: every listed substring must appear in the reason / error.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tiktok_destination.settings import make_config
from tiktok_destination.transform.event import transform

FIXTURES = Path(__file__).parents[1] / "fixtures"
EVENTS = FIXTURES / "events"
PAYLOADS = FIXTURES / "payloads"

BASE: dict[str, Any] = {
    "access_token": "test-token",
    "pixel_id": "PIXEL123",
    "app_id": "APP456",
    "offline_event_set_id": "OFF789",
    "crm_event_set_id": "CRM000",
}

_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


def _names(folder: Path) -> set[str]:
    return {path.stem for path in folder.glob("*.json")}


CASES = sorted(_names(EVENTS))


def _load(folder: Path, case: str) -> Any:
    return json.loads((folder / f"{case}.json").read_text(encoding="utf-8"))


def _settings(overrides: dict[str, Any]) -> dict[str, Any]:
    settings = {**BASE, **overrides}
    return {key: value for key, value in settings.items() if value is not None}


def _clear_identifiers(event: dict[str, Any]) -> set[str]:
    """Clear-text email addresses and phone numbers of ``event.user``, in the forms that could
    leak: as given, trimmed, lower-cased, and (phones) digits only with and without leading 0."""
    user = event.get("user")
    found: set[str] = set()
    if not isinstance(user, dict):
        return found
    for key, value in user.items():
        if "email" not in key and "phone" not in key:
            continue
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, str) or not item.strip() or _SHA256_HEX.fullmatch(item.strip()):
                continue
            found |= {item, item.strip(), item.strip().lower()}
            digits = re.sub(r"\D", "", item)
            if "phone" in key:
                found |= {digits, digits.lstrip("0")}
    # Very short texts ("12") would match by chance (in "PIXEL123"): not identifiers anyway.
    return {text for text in found if len(text) >= 6}


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str, output_schema: Draft202012Validator) -> None:
    spec = _load(EVENTS, case)
    expected = _load(PAYLOADS, case)
    config = make_config(_settings(spec.get("settings", {})))
    event = spec["event"]
    before = copy.deepcopy(event)

    outcome: dict[str, Any] = dict(transform(event, config, spec["now"]))

    assert event == before, "transform changed the event it was given"
    status = expected["status"]
    if status == "ok":
        # Warnings are compared in any order: their order says nothing.
        assert {**outcome, "warnings": sorted(outcome.get("warnings", []))} == {
            **expected,
            "warnings": sorted(expected.get("warnings", [])),
        }
        assert ("warnings" in outcome) == ("warnings" in expected)
        payload = outcome["payload"]
        errors = [
            f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in output_schema.iter_errors(payload)
        ]
        assert not errors, errors
        serialized = json.dumps(payload, ensure_ascii=False)
        leaked = sorted(text for text in _clear_identifiers(event) if text in serialized)
        assert not leaked, f"clear text in payload: {leaked}"
    else:
        key = {"skipped": "reason", "invalid": "error"}[status]
        assert outcome == {"status": status, key: outcome.get(key)}, outcome
        message = outcome[key]
        missing = [part for part in expected[f"{key}_contains"] if part not in message]
        assert not missing, f"{key} {message!r} lacks {missing}"


def test_every_event_has_a_payload_and_vice_versa() -> None:
    events, payloads = _names(EVENTS), _names(PAYLOADS)
    assert CASES, "no golden cases found"
    assert sorted(events - payloads) == [], "events without an expected payload"
    assert sorted(payloads - events) == [], "expected payloads without an event"


@pytest.mark.parametrize("case", CASES)
def test_fixture_shape(case: str) -> None:
    spec = _load(EVENTS, case)
    assert set(spec) <= {"description", "settings", "now", "event"}
    assert isinstance(spec.get("description"), str) and spec["description"]
    assert isinstance(spec.get("now"), (int, float))
    assert "event" in spec
    expected = _load(PAYLOADS, case)
    status = expected.get("status")
    allowed = {
        "ok": ({"status", "payload"}, {"warnings"}),
        "skipped": ({"status", "reason_contains"}, set()),
        "invalid": ({"status", "error_contains"}, set()),
    }
    assert status in allowed, f"unknown status {status!r}"
    required, optional = allowed[status]
    assert required <= set(expected) <= required | optional
    if status == "ok" and "warnings" in expected:
        assert expected["warnings"], "an empty warnings list is never emitted: leave it out"
