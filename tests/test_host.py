"""The plugin as a host sees it: loaded through its entry point on a real PluginManager."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

import pluggy

import tiktok_destination
from tiktok_destination import form, hookspecs, resources, settings

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {"access_token": "host-token", "pixel_id": "PIXEL", "app_id": "APP"}
EVENT = {
    "event_name": "purchase",
    "id": "o-1",
    "value": 10,
    "currency": "EUR",
    "context": {"event_timestamp": 1700000000},
}


def test_entry_point_is_named_tiktok_in_the_cdp_group() -> None:
    points = metadata.entry_points(group="cdp.destinations")
    assert {point.name: point.value for point in points}["tiktok"] == "tiktok_destination.plugin"


def test_manifest(host: pluggy.PluginManager) -> None:
    (manifest,) = host.hook.cdp_destination_manifest()
    assert manifest["name"] == "tiktok"
    assert (
        manifest["version"]
        == tiktok_destination.__version__
        == metadata.version("tiktok-destination")
    )
    suggested = settings.schema()  # the schema, with TikTok's event names as suggestions
    form.suggest_standard_events(suggested)
    assert manifest["settings_schema"] == suggested
    specs = {
        name
        for name, _ in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("cdp_")
    }
    assert set(manifest["hooks"]) == specs
    assert manifest["ui_schema"]["ui:order"][0] == "access_token"  # more in test_settings_schema


def test_validate_settings_answers_only_for_tiktok(host: pluggy.PluginManager) -> None:
    assert host.hook.cdp_destination_validate_settings(destination="other", settings={}) is None
    assert (
        host.hook.cdp_destination_validate_settings(destination="tiktok", settings=SETTINGS) == []
    )
    problems = host.hook.cdp_destination_validate_settings(
        destination="tiktok", settings={"access_token": "t", "batch_size": 5000}
    )
    assert any(problem.startswith("batch_size:") for problem in problems)


def test_transform_through_the_hook(host: pluggy.PluginManager) -> None:
    outcome = host.hook.cdp_destination_transform(
        destination="tiktok", event=EVENT, settings=SETTINGS
    )
    assert outcome["status"] == "ok"
    assert outcome["payload"]["event_source_id"] == "PIXEL"
    assert outcome["payload"]["data"][0]["event"] == "CompletePayment"
    assert (
        host.hook.cdp_destination_transform(destination="x", event=EVENT, settings=SETTINGS) is None
    )


def test_bad_settings_make_events_invalid_not_exceptions(host: pluggy.PluginManager) -> None:
    outcome = host.hook.cdp_destination_transform(
        destination="tiktok", event=EVENT, settings={"access_token": "t", "pixel_id": 5}
    )
    assert outcome["status"] == "invalid" and "pixel_id" in outcome["error"]


def test_send_answers_only_for_tiktok(host: pluggy.PluginManager) -> None:
    assert host.hook.cdp_destination_send(destination="x", payloads=[], settings=SETTINGS) is None
    outcomes = host.hook.cdp_destination_send(
        destination="tiktok", payloads=[{"x": 1}], settings={"access_token": "t"}
    )
    assert [o["status"] for o in outcomes] == ["failed"]
    assert "pixel_id" in outcomes[0]["message"]


HOST_SCRIPT = """
import json, sys, pluggy
import tiktok_destination.hookspecs as spec
pm = pluggy.PluginManager("cdp")
pm.add_hookspecs(spec)
pm.load_setuptools_entrypoints("cdp.destinations")
settings = {"access_token": "t", "pixel_id": "P"}
print(json.dumps({
    "manifest": pm.hook.cdp_destination_manifest()[0]["name"],
    "problems": pm.hook.cdp_destination_validate_settings(destination="tiktok", settings=settings),
    "outcome": pm.hook.cdp_destination_transform(
        destination="tiktok", event={"event_name": "search", "id": "1"}, settings=settings),
}))
"""


def test_a_host_needs_only_the_hookspecs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", HOST_SCRIPT],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    answer = json.loads(done.stdout)
    assert answer["manifest"] == "tiktok" and answer["problems"] == []
    assert answer["outcome"]["payload"]["data"][0]["event"] == "Search"


def test_shipped_files_are_the_repository_files() -> None:
    for name in (
        "plugin.json",
        "schemas/settings.schema.json",
        "schemas/event-track-request.schema.json",
    ):
        assert resources.load_json(name) == json.loads((ROOT / name).read_text(encoding="utf-8"))


def test_wheel_ships_schemas_manifest_and_marker(tmp_path: Path) -> None:
    """The default wheel: pure Python, for any platform, whatever compiler the machine has."""
    environment = {k: v for k, v in os.environ.items() if k != "TIKTOK_DESTINATION_COMPILE"}
    environment["CC"] = "false"  # no working C compiler
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        env=environment,
    )
    (wheel,) = tmp_path.glob("tiktok_destination-*.whl")
    assert wheel.name.endswith("-py3-none-any.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert not [name for name in names if name.endswith((".so", ".pyd"))]
    for inside in (
        "plugin.json",
        "py.typed",
        "schemas/settings.schema.json",
        "schemas/event-track-request.schema.json",
        "hookspecs.py",
        "plugin.py",
    ):
        assert f"tiktok_destination/{inside}" in names
    entry_points = next(name for name in names if name.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[cdp.destinations]" in text and "tiktok = tiktok_destination.plugin" in text


def test_send_through_the_hook_stops_after_a_refused_token(
    host: pluggy.PluginManager, tiktok: Any
) -> None:
    from support.helpers import TOKEN
    from support.tiktok_server import BodyCode

    def settings() -> dict[str, Any]:  # a host may build settings afresh for every call
        return {"access_token": TOKEN, "pixel_id": "PIXEL", "api_url": tiktok.url}

    def payload(n: int) -> dict[str, Any]:
        event = {**EVENT, "id": f"hook-{n}"}
        outcome = host.hook.cdp_destination_transform(
            destination="tiktok", event=event, settings=settings()
        )
        payload: dict[str, Any] = outcome["payload"]
        return payload

    first = host.hook.cdp_destination_send(
        destination="tiktok", payloads=[payload(1), payload(2)], settings=settings()
    )
    assert [o["status"] for o in first] == ["delivered", "delivered"]
    assert first[0]["request_id"] and sorted(tiktok.event_ids) == ["hook-1", "hook-2"]
    tiktok.fail_next(BodyCode(40105, "Access token is incorrect or has been revoked"))
    refused = host.hook.cdp_destination_send(
        destination="tiktok", payloads=[payload(3)], settings=settings()
    )
    later = host.hook.cdp_destination_send(
        destination="tiktok", payloads=[payload(4)], settings=settings()
    )
    assert refused[0]["status"] == later[0]["status"] == "failed"
    assert refused[0]["code"] == 40105 and "access_token" in later[0]["message"]
    assert len(tiktok.requests) == 2  # the later call made no request
    assert TOKEN not in json.dumps([first, refused, later])
