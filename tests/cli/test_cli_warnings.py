"""Warnings where decisions are made: ``send``'s summary and ``report`` on a file of known
warnings and keyless events, in real subprocesses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from support.cli_helpers import run_cli, write_events, write_settings
from support.tiktok_server import FakeTikTok

PHONE = "user_phone: left out a number that could not be read as E.164"
CURRENCY = "currency: left out, expected a currency TikTok supports"
GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"


def purchase(n: int, **extra: Any) -> dict[str, Any]:
    """A web purchase with no date (no age warning) and an id (no derived-id warning)."""
    return {"event_name": "purchase", "id": f"p{n}", "currency": "EUR", "value": 1, **extra}


EVENTS: list[Any] = [
    *(purchase(n, user={"email": f"u{n}@example.com", "phone": "12"}) for n in range(3)),
    *(purchase(n, currency="XXX") for n in range(3, 5)),  # warned, and no match key at all
    purchase(5),  # no match key, no warning
    purchase(6, user={"email": "six@example.com"}),
    {
        "event_name": "launch_app",
        "id": "a1",
        "context": {
            "app": {"namespace": "com.example"},
            "device": {"type": "android", "advertising_id": GAID},
        },
    },
]
"""Web CompletePayment: 7 events, 5 warned (3 phones, 2 currencies), 3 with no key; app
LaunchAPP: 1 event, its gaid a key, no warning."""


def test_send_counts_the_events_sent_with_warnings_and_names_the_most_frequent(
    tmp_path: Path, tiktok: FakeTikTok
) -> None:
    settings = write_settings(tmp_path / "s.json", tiktok, app_id="APP")
    settings_json = json.loads(Path(settings).read_text())
    Path(settings).write_text(json.dumps({**settings_json, "autodiscover_event_source": True}))
    done = run_cli("send", "--settings", settings, write_events(tmp_path / "e.jsonl", EVENTS))
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stderr.splitlines() if line.startswith("warnings: ")]
    assert len(said) == 1, done.stderr
    counted, top = said[0].split("; most frequent: ")
    assert counted == "warnings: 5 events sent with warnings"
    assert top.startswith(f"(3) {PHONE}")
    assert f"(2) {CURRENCY}" in top
    assert "u0@example.com" not in done.stderr


def test_report_json_gives_the_warnings_and_the_events_without_a_match_key(
    tmp_path: Path,
) -> None:
    settings = tmp_path / "s.json"
    settings.write_text(
        json.dumps({"pixel_id": "P", "app_id": "A", "autodiscover_event_source": True})
    )
    events = write_events(tmp_path / "e.jsonl", EVENTS)
    done = run_cli("report", "--settings", str(settings), events, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] == 8
    assert report["no_match_key"] == {"events": 3, "share": 0.375}
    assert report["warnings"]["events"] == 5
    groups = {(g["event_source"], g["event"]): g for g in report["groups"]}
    web, app = groups["web", "CompletePayment"], groups["app", "LaunchAPP"]
    assert (web["events"], web["no_match_key"], app["no_match_key"]) == (7, 0.429, 0.0)
    assert web["warnings"]["events"] == 5 and app["warnings"] == {"events": 0, "reasons": []}
    reasons = [(r["reason"][: len(PHONE)], r["events"]) for r in web["warnings"]["reasons"]]
    assert reasons[0] == (PHONE, 3)
    assert any(
        r["reason"].startswith(CURRENCY) and r["events"] == 2 for r in web["warnings"]["reasons"]
    )
    # only the keys a source can carry: no app keys on web rows, no web-only keys on app rows
    assert set(web["match_keys"]) == {
        "email",
        "phone",
        "external_id",
        "ttclid",
        "ttp",
        "ip+user_agent",
    }
    assert set(app["match_keys"]) == {"email", "phone", "external_id", "ip+user_agent", "idfa/gaid"}
    assert app["match_keys"]["idfa/gaid"] == 1.0
    table = run_cli("report", "--settings", str(settings), events)
    assert "no match key at all: 3 of 8 ok events (38%)" in table.stdout
    assert f"       3  {PHONE}" in table.stdout
