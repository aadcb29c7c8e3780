"""Nothing an event or a setting carries runs as code, freezes the host or crosses tenants.

Each test performs an attack of the Security issue as written: Python after a line break of
every kind, quotes, comment marks, braces, NUL and lone surrogates in every string of web and
app events and of settings, through both transform hooks and ``send``; a marker file the
payload would create never appears. Then the bounds: distinct device platforms, templates that
made the old placeholder pattern backtrack, settings mutated by another thread while a hook
reads them, and compiling that must not hold the state lock.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from hypothesis import example, given
from hypothesis import strategies as st
from support.cli_helpers import run_cli, write_events
from support.helpers import TOKEN
from support.tiktok_server import FakeTikTok
from support.worker_helpers import add_events, make_worker, outcomes, run

from tiktok_destination import destination, settings, state
from tiktok_destination.expressions import split_template
from tiktok_destination.fleet.worker import Verdict
from tiktok_destination.state import State

PACKAGE = Path(__file__).resolve().parents[1] / "tiktok_destination"
LINE_BREAKS = (
    "\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029",
)  # fmt: skip
OTHER_MARKS = ('"', "'", '"""', "'''", "#", "\\", "{", "}", "{{", "}}", "\x00", "\ud800", "\x1b")
WAIT_S = 10.0


def payloads(marker: Path) -> list[str]:
    """Strings that would create ``marker`` if any of them were run as Python source."""
    code = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    made = [f"ios{br}{code}{br}#" for br in LINE_BREAKS]
    made += [f"x{mark}); {code}; ({mark}" for mark in OTHER_MARKS]
    made += [f"{{{{{code}}}}}", f"{code}", f"\\\n{code}\n#\ud800"]
    return made


WEB_EVENT: dict[str, Any] = {
    "event_name": "purchase",
    "id": "e-1",
    "value": "12.5",
    "currency": "EUR",
    "context": {
        "event_timestamp": 1732441200,
        "page": {"url": "https://shop.example.com/?ttclid=abc", "referrer": "https://x.example/"},
        "device": {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0", "cookie": "_ttp=abc"},
    },
    "user": {"email": "a@example.com", "phone": "+33612345678", "id": "u-1"},
    "items": [{"id": "sku-1", "price": 10, "quantity": 1, "name": "Shoe", "category": "c"}],
}
APP_EVENT: dict[str, Any] = {
    **WEB_EVENT,
    "context": {
        "event_timestamp": 1732441200,
        "app": {"namespace": "com.example", "name": "Shop", "version": "1.0"},
        "device": {"type": "ios", "advertising_id": "AAAA-BBBB", "ip": "203.0.113.7"},
    },
    "partners": {"tiktok": {"event_source": "app"}},
}


def with_every_string(node: Any, text: str) -> Any:
    """``node`` with every string in it (values and keys) replaced by ``text``, keeping the
    original keys beside the hostile ones so the fields are still read."""
    if isinstance(node, dict):
        changed = {key: with_every_string(value, text) for key, value in node.items()}
        changed[text] = text
        return changed
    if isinstance(node, list):
        return [with_every_string(item, text) for item in node]
    return text if isinstance(node, str) else node


def hostile_events(marker: Path) -> list[Any]:
    events: list[Any] = []
    for text in payloads(marker):
        for event in (WEB_EVENT, APP_EVENT):
            events.append(with_every_string(event, text))
            # The fields read whole (name, platform, source) kept, the rest hostile.
            partly = with_every_string(event, text)
            partly.update(event_name="purchase", partners=event.get("partners", {}))
            events.append(partly)
            deep = json.loads(json.dumps(event))
            deep["context"]["device"]["type"] = text
            events.append(deep)
    return events


def hostile_settings(marker: Path, api_url: str) -> Iterator[dict[str, Any]]:
    """Valid settings whose free texts carry the payloads (paths cannot: see below)."""
    for text in payloads(marker):
        yield {
            "access_token": TOKEN,
            "pixel_id": "PIXEL",
            "app_id": "APP",
            "api_url": api_url,
            "test_event_code": text,
            "event_mapping": [{"event": text, "tiktok_event": "Purchase"}],
            "custom_event_properties": [{"name": "k", "value": {"value": text}}],
            "custom_user_properties": [{"name": "u", "value": {"value": text}}],
            "smart_mapping": {"app_name": {"value": text}, "item_name": [{"value": text}]},
        }


def test_the_package_builds_no_code_from_text() -> None:
    """No ``exec``, ``eval`` or ``compile`` of source anywhere in the package."""
    calls = [
        f"{path.name}:{node.lineno}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("exec", "eval", "compile", "__import__")
    ]
    assert calls == []


def test_hostile_strings_in_events_and_settings_never_run_through_the_hooks(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "ran"
    events = hostile_events(marker)
    for config in hostile_settings(marker, "http://127.0.0.1:9/open_api/v1.3/event/track/"):
        assert settings.validate(config) == []
        outcomes = destination.transform_events(events, config, 1732441200)
        assert len(outcomes) == len(events)
        for event in events:
            assert destination.transform_event(event, config, 1732441200)["status"] in (
                "ok",
                "skipped",
                "invalid",
            )
    assert {outcome["status"] for outcome in outcomes} >= {"ok", "invalid"}
    assert not marker.exists()


def test_hostile_strings_never_run_through_send(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    events = hostile_events(marker)
    with FakeTikTok(token=TOKEN) as tiktok:
        config = next(hostile_settings(marker, tiktok.url))
        path = tmp_path / "settings.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        done = run_cli(
            "send",
            "--settings",
            str(path),
            "--outcomes",
            str(tmp_path / "outcomes.jsonl"),
            write_events(tmp_path / "events.jsonl", events),
        )
        assert "Traceback" not in done.stderr
        assert tiktok.events, done.stderr
    assert not marker.exists()


def test_hostile_strings_never_run_through_a_worker(
    tmp_path: Path, redis_client: redis.Redis
) -> None:
    marker = tmp_path / "ran"
    events = hostile_events(marker)
    with FakeTikTok(token=TOKEN) as tiktok:
        config = next(hostile_settings(marker, tiktok.url))
        add_events(redis_client, events)
        assert run(make_worker(redis_client, config)) is Verdict.DONE
        assert tiktok.events
    assert len(outcomes(redis_client)) == len(events)
    assert not marker.exists()


@pytest.mark.parametrize("text", [f"ios{br}x" for br in LINE_BREAKS] + ["a\x00b", "a\ud800"])
@pytest.mark.parametrize("where", ["smart_mapping", "template", "fallback", "custom"])
def test_a_path_with_a_control_character_is_refused_by_validation(text: str, where: str) -> None:
    """Settings are judged as they will be used: a path no event can have is not valid."""
    expression: Any = {"template": f"{{{{{text}}}}} x", "fallback": ["a.b", text]}.get(where, text)
    config: dict[str, Any] = {"access_token": TOKEN, "pixel_id": "PIXEL"}
    if where == "custom":
        config["custom_event_properties"] = [{"name": "n", "value": expression}]
    else:
        config["smart_mapping"] = {"device_platform": expression}
    problems = settings.validate(config)
    assert len(problems) == 1
    assert "control character" in problems[0]
    assert "\n" not in problems[0] and "\ud800" not in problems[0]
    outcome = destination.transform_event({"event_name": "purchase"}, config, 0)
    assert outcome == {"status": "invalid", "error": "settings: " + problems[0]}


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("a" + ".b" * 1000, "at most 256 characters"),
        ("a" + ".b" * 16, "at most 16 keys"),
        ("a..b", "no empty key"),
        (".a", "no empty key"),
        ("a.", "no empty key"),
        ("", "no empty key"),
        ("a{b", "no brace"),
        ("{{" + " " * 3000, "at most 256 characters"),
        ("{{ a }}" + " " * 1000, "a template is at most 1000 characters"),
    ],
)
def test_paths_out_of_the_grammar_are_refused_naming_why(path: str, words: str) -> None:
    problems = settings.validate({"access_token": TOKEN, "smart_mapping": {"user_id": path}})
    assert any(words in problem for problem in problems), problems


def test_the_schema_carries_the_path_grammar() -> None:
    from tiktok_destination.expressions import PATH_PATTERN, TEMPLATE_MAX_CHARS

    branches = settings.schema()["$defs"]["source_expression"]["oneOf"]
    assert [branch["title"] for branch in branches[:2]] == ["Property path", "Template"]
    assert branches[0]["pattern"] == PATH_PATTERN
    assert branches[1]["maxLength"] == TEMPLATE_MAX_CHARS


@given(st.text(alphabet="ab.{} \n\x00\u2028", max_size=24))
@example("a\n")
@example("a\r\n")
@example("\u2028")
@example("a.b\x00")
def test_the_schema_and_validation_agree_on_paths(text: str) -> None:
    """What the schema's pattern accepts as a path is what validation accepts."""
    from tiktok_destination.expressions import PATH_PATTERN, path_problem

    assert (re.search(PATH_PATTERN, text) is not None) == (path_problem(text) is None)


_OLD_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


@given(st.text(alphabet="{} a.\t\n\u2028", max_size=30))
@example("{{ a }}{{b}}")
@example("{{{a}}}")
@example("{{ }}")
@example("{{a}")
def test_templates_split_as_the_placeholder_pattern_did(template: str) -> None:
    pieces = _OLD_PLACEHOLDER.split(template)
    assert split_template(template) == (pieces[0::2], pieces[1::2])


def test_a_template_that_made_the_pattern_backtrack_is_split_at_once() -> None:
    """ "{{" and 200,000 spaces: the old pattern backtracked cubically (13 s for 3,000)."""
    done: list[Any] = []
    worker = threading.Thread(
        target=lambda: done.append(split_template("{{" + " " * 200_000)), daemon=True
    )
    worker.start()
    worker.join(WAIT_S)
    assert done == [(["{{" + " " * 200_000], [])]


def test_distinct_device_platforms_keep_a_bounded_number_of_assemblies() -> None:
    """15,000 distinct device.type values: each used to generate and keep a module."""
    config = state.config_for({"access_token": TOKEN, "app_id": "APP"})
    for index in range(3000):
        event = json.loads(json.dumps(APP_EVENT))
        event["context"]["device"]["type"] = f"ios-{index}" if index % 3 else "Android "
        assert destination.transform_event(event, {"access_token": TOKEN, "app_id": "APP"}, 0)
    assert len(config.sections) <= 3
    assert {platform for _source, platform in config.sections} <= {"ios", "android", None}


def tenant(name: str) -> dict[str, Any]:
    return {"access_token": f"token-{name}", "pixel_id": f"PIXEL_{name}", "test_event_code": name}


def test_a_caller_mutating_settings_during_a_hook_never_poisons_another_tenant() -> None:
    """A thread flips one dict between tenants A and B while hooks read it: afterwards,
    fresh settings of A resolve to A's pixel and token, and B's to B's (the attack found B's
    pixel and token for A in 54 of 300 cycles)."""
    live = tenant("A")
    stop = threading.Event()

    def flip() -> None:
        while not stop.is_set():
            for name in ("B", "A"):
                for key, value in tenant(name).items():
                    live[key] = value

    flipper = threading.Thread(target=flip, daemon=True)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        flipper.start()
        for _ in range(300):  # a fresh state each cycle: the first compile is the one at stake
            cache = State()
            for _ in range(4):
                cache.config_for(live)
            for name in ("A", "B"):
                config = cache.config_for(tenant(name))
                seen = (config.source_ids["web"], config.delivery.access_token)
                assert seen == (f"PIXEL_{name}", f"token-{name}")
    finally:
        stop.set()
        flipper.join(WAIT_S)
        sys.setswitchinterval(interval)


def test_compiling_settings_does_not_stop_another_threads_hook(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While one thread compiles new settings, another's hook on known settings goes on."""
    cache = State()
    known = tenant("A")
    cache.config_for(known)
    inside, other_done = threading.Event(), threading.Event()
    waited: list[bool] = []
    real = settings.make_config

    def slow(given: Any) -> Any:
        inside.set()
        waited.append(other_done.wait(WAIT_S))
        return real(given)

    monkeypatch.setattr("tiktok_destination.state.make_config", slow)
    compiling = threading.Thread(target=cache.config_for, args=(tenant("B"),), daemon=True)
    compiling.start()
    assert inside.wait(WAIT_S)
    cache.config_for(known)
    other_done.set()
    compiling.join(WAIT_S)
    assert waited == [True]
