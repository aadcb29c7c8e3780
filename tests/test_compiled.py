"""The compiled sections (``compiled``) do exactly what the field walk (``build_section``) does.

Generated events under fixed and generated settings (smart mapping with paths, templates,
constants, list indices), each section built both ways on an event's own ``Reading``: the same
keys and values, warnings, values kept for other fields, and the same problem. The golden and
property tests run the transform, which uses the compiled sections; this holds them to the walk.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from profiles import examples
from test_golden import CASES, EVENTS, _load, _settings
from test_properties import (
    VARIANTS,
    event_shaped,
    generated_settings,
    json_values,
    mutated_events,
)

from tiktok_destination.compiled import builders, source_code
from tiktok_destination.facts import scope_of
from tiktok_destination.mapping import FIELD, FIELDS, SECTIONS
from tiktok_destination.sections import FieldProblem, Reading, build_section, plan, read_field
from tiktok_destination.settings import Config, SettingsError, compile_settings
from tiktok_destination.transform import event_source

ROOT = Path(__file__).resolve().parents[1]


def walk(event: dict[str, Any], config: Config, compiled: bool) -> Any:
    """Every section of ``event`` built one way; what each gave, then warnings and kept values."""
    warnings: list[str] = []
    source = event_source(event, config, warnings)
    reading = Reading(event, config, source, warnings)
    out: list[Any] = []
    try:
        if scope_of(source) == "app":
            platform = read_field(FIELD["device_platform"], event, reading)
            reading.platform = platform.lower() if isinstance(platform, str) else None
        made = builders(config, source, reading.platform)
        for section, steps in plan(source, reading.platform).items():
            build = made[section] if compiled else partial(build_section, steps)
            if section != "item":
                out.append((section, build(event, reading, "")))
                continue
            items = config.fields["item_list"](event)
            for index, item in enumerate(items if isinstance(items, list) else []):
                if isinstance(item, dict):
                    out.append((section, build(item, reading, f"item_list[{index}].")))
    except FieldProblem as problem:
        out.append(("problem", str(problem)))
    return out, warnings, reading.values


def same_both_ways(event: Any, config: Config) -> None:
    if not isinstance(event, dict):
        return
    compiled = walk(copy.deepcopy(event), config, compiled=True)
    walked = walk(copy.deepcopy(event), config, compiled=False)
    assert json.dumps(compiled, sort_keys=True, default=repr) == json.dumps(
        walked, sort_keys=True, default=repr
    )


@pytest.mark.parametrize("case", CASES)
def test_golden_events(case: str) -> None:
    spec = _load(EVENTS, case)
    same_both_ways(spec["event"], compile_settings(_settings(spec.get("settings", {}))))


@settings(max_examples=examples(1500))
@given(
    event=st.one_of(event_shaped, mutated_events(), json_values),
    variant=st.sampled_from(sorted(VARIANTS)),
)
def test_generated_events(event: Any, variant: str) -> None:
    same_both_ways(event, compile_settings(VARIANTS[variant]["settings"]))


@settings(max_examples=examples(800))
@given(settings_=generated_settings, event=st.one_of(event_shaped, mutated_events()))
def test_generated_settings(settings_: dict[str, Any], event: Any) -> None:
    try:
        config = compile_settings(settings_)
    except SettingsError:
        return
    same_both_ways(event, config)


def test_every_record_of_a_section_is_compiled() -> None:
    """Generated from the records: each field that lands in a section is read by its code."""
    config = compile_settings(VARIANTS["app_and_pixel"]["settings"])
    text = "\n".join(
        source_code(config, source, platform)[0]
        for source in ("web", "app", "offline", "crm")
        for platform in (None, "ios", "android")
    )
    landing = [f for f in FIELDS if f.target is not None and f.target[0] in SECTIONS and f.read]
    assert landing
    for field in landing:
        assert f"# {field.name} -> {field.target[1]}, from " in text  # type: ignore[index]


def test_the_debug_command_prints_the_code(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(VARIANTS["app_and_pixel"]["settings"]), encoding="utf-8")
    shown = subprocess.run(
        [sys.executable, "-m", "tiktok_destination.compiled", str(path), "app", "ios"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert shown.returncode == 0, shown.stderr
    assert "def build_user(node, reading, where):" in shown.stdout
    assert "# device_idfa -> idfa, from context.device.advertising_id" in shown.stdout
    compile(shown.stdout, "<printed>", "exec")  # the printed text is the code itself
