"""The Segment example (``examples/segment-*``) runs with the README's first command and
``"event_spec": "segment"``: every message becomes the outcome its call type and name say."""

from __future__ import annotations

import json

from jsonschema import Draft202012Validator
from support.cli_helpers import ROOT, no_traceback, run_cli


def test_the_segment_example_runs_with_the_readme_command(
    output_schema: Draft202012Validator,
) -> None:
    settings = json.loads((ROOT / "examples/segment-settings.json").read_text())
    standard = json.loads((ROOT / "examples/settings.json").read_text())
    assert settings == {"event_spec": "segment", **standard}  # the README's, plus the spec
    done = run_cli(
        "transform",
        "--settings",
        str(ROOT / "examples/segment-settings.json"),
        str(ROOT / "examples/segment-events.jsonl"),
    )
    assert done.returncode == 0, done.stderr
    assert no_traceback(done.stderr)
    got = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    sent = [
        (o["payload"]["event_source"], o["payload"]["data"][0]["event"])
        for o in got
        if o["status"] == "ok"
    ]
    assert sent == [
        ("web", "ViewContent"),
        ("web", "AddToCart"),
        ("web", "InitiateCheckout"),
        ("web", "CompletePayment"),
        ("web", "Search"),
        ("web", "CompleteRegistration"),
        ("app", "LaunchAPP"),
        ("app", "Purchase"),
    ]
    assert [o["status"] for o in got[len(sent) :]] == ["skipped", "skipped", "invalid"]
    assert "carries no conversion" in got[-2]["reason"]
    assert all("warnings" not in o for o in got)
    for outcome in got[: len(sent)]:
        output_schema.validate(outcome["payload"])
    assert "jane.doe@example.com" not in done.stdout.lower()
    assert "06 12 34 56 78" not in done.stdout
