"""``tiktok-destination report``: match-key coverage checked against a file of known coverage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from support.cli_helpers import ROOT, run_cli, write_events

from tiktok_destination.cli.report import Report

WEB = {"context": {"event_timestamp": 1700000000}}


def web(n: int, **extra: Any) -> dict[str, Any]:
    return {"event_name": "purchase", "id": f"p{n}", "currency": "EUR", "value": 1, **WEB, **extra}


def test_report_json_gives_the_known_coverage(tmp_path: Path) -> None:
    device = {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0"}
    lines: list[Any] = [
        web(1, user={"email": "a@example.com", "phone": "+33612345678"}),
        web(2, user={"email": "b@example.com"}, context={**WEB["context"], "device": device}),
        web(3, context={**WEB["context"], "device": {"ip": "203.0.113.8"}}),  # ip alone
        web(4, partners={"tiktok": {"ttclid": "E.C.P.x", "ttp": "ttp-1"}}),
        {"event_name": "search", "id": "s1", **WEB, "user": {"id": "Customer-1"}},
        {
            "event_name": "launch_app",
            "id": "a1",
            "context": {
                "event_timestamp": 1700000000,
                "app": {"namespace": "com.example"},
                "device": {
                    "type": "android",
                    "advertising_id": "38400000-8cf0-11bd-b23e-10b96e40000d",
                },
            },
        },
        {"event_name": "newsletter_open", "id": "n1"},
        {"event_name": "newsletter_open", "id": "n2"},
        {"event_name": "purchase", "id": "bad", "context": {"event_timestamp": "yesterday"}},
        "{broken",
    ]
    settings = tmp_path / "s.json"
    settings.write_text(
        json.dumps({"pixel_id": "P", "app_id": "A", "autodiscover_event_source": True})
    )
    done = run_cli(
        "report", "--settings", str(settings), write_events(tmp_path / "e.jsonl", lines), "--json"
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["events"] == 10
    groups = {(g["event_source"], g["event"]): g for g in report["groups"]}
    assert [(key, g["events"]) for key, g in groups.items()] == [
        (("web", "CompletePayment"), 4),
        (("app", "LaunchAPP"), 1),
        (("web", "Search"), 1),
    ]
    assert groups["web", "CompletePayment"]["match_keys"] == {
        "email": 0.5,
        "phone": 0.25,
        "external_id": 0.0,
        "ttclid": 0.25,
        "ttp": 0.25,
        "ip+user_agent": 0.25,
    }  # no idfa/gaid: an app key
    assert groups["web", "CompletePayment"]["no_match_key"] == 0.25  # ip alone is no key
    assert "ttclid" not in groups["app", "LaunchAPP"]["match_keys"]  # a web key
    assert groups["web", "Search"]["match_keys"]["external_id"] == 1.0
    assert groups["app", "LaunchAPP"]["match_keys"]["idfa/gaid"] == 1.0
    assert report["skipped"]["events"] == 2
    assert report["skipped"]["reasons"][0]["events"] == 2
    assert "newsletter_open" in report["skipped"]["reasons"][0]["reason"]
    assert report["invalid"]["events"] == 2
    assert {r["events"] for r in report["invalid"]["reasons"]} == {1}
    assert any(r["reason"].startswith("not JSON") for r in report["invalid"]["reasons"])
    table = run_cli("report", "--settings", str(settings), str(tmp_path / "e.jsonl"))
    assert table.returncode == 0
    header, first = table.stdout.splitlines()[:2]
    assert header.split() == [
        "event_source",
        "event",
        "events",
        *groups["web", "CompletePayment"]["match_keys"],
        "idfa/gaid",
        "no",
        "key",
        "warned",
    ]
    assert first.split() == [
        "web",
        "CompletePayment",
        "4",
        "50%",
        "25%",
        "0%",
        "25%",
        "25%",
        "25%",
        "—",  # idfa/gaid does not apply to web events
        "25%",
        "4",  # each dated 2023: more than 28 days old
    ]


def test_name_and_address_keys_are_reported_when_payloads_carry_them() -> None:
    report = Report()
    for user in ({"first_name": "h1", "zip_code": "h2", "email": "h3"}, {"city": "h4"}):
        payload = {
            "event_source": "web",
            "event_source_id": "P",
            "data": [{"event": "Lead", "event_time": 1, "event_id": "x", "user": user}],
        }
        report.add({"status": "ok", "payload": payload})
    keys = report.as_json()["groups"][0]["match_keys"]
    assert {name: keys[name] for name in ("first_name", "zip_code", "city", "email")} == {
        "first_name": 0.5,
        "zip_code": 0.5,
        "city": 0.5,
        "email": 0.5,
    }
    assert "last_name" not in keys and "state" not in keys


def test_report_runs_on_the_shipped_example_without_a_token() -> None:
    done = run_cli(
        "report",
        "--settings",
        str(ROOT / "examples/settings.json"),
        str(ROOT / "examples/events.jsonl"),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("event_source") and "invalid: 2" in done.stdout
