"""The compiled sections (``compiled``) do exactly what the field walk (``build_section``) does.

Generated events under fixed and generated settings (smart mapping with paths, templates,
constants, list indices), each transformed twice: with the code generated for the settings, and
with every section built by the walk (``compiled.walked``): the same outcome, payload, warnings
and problem. The golden and property tests run the transform, which uses the generated code;
this holds it to the walk.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
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

from tiktok_destination import compiled
from tiktok_destination import transform as transform_module
from tiktok_destination.compiled import source_code
from tiktok_destination.mapping import FIELDS, SECTIONS
from tiktok_destination.readers import READERS
from tiktok_destination.settings import Config, SettingsError, compile_settings
from tiktok_destination.transform import transform

ROOT = Path(__file__).resolve().parents[1]


NOW = 1_700_000_000.5


def transformed(event: Any, config: Config, how: Callable[..., compiled.Assemble]) -> str:
    """The transform's outcome for ``event`` with its sections built ``how``, as JSON text."""
    generated = transform_module.assembler
    transform_module.assembler = how
    try:
        outcome = transform(copy.deepcopy(event), config, NOW)
    finally:
        transform_module.assembler = generated
    return json.dumps(outcome, sort_keys=True, default=repr)


def same_both_ways(event: Any, config: Config) -> None:
    assert transformed(event, config, compiled.assembler) == transformed(
        event, config, compiled.walked
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


@pytest.mark.parametrize("name", sorted(name for name, r in READERS.items() if r.of_text))
@pytest.mark.parametrize("raw", ["", " ", "\t\n", "\u00a0", " a ", "x", "Ünïcode  "])
def test_a_readers_inline_form_gives_what_the_reader_gives(name: str, raw: str) -> None:
    """The generated sections put ``Reader.of_text`` in place of the reader for a text."""
    reader = READERS[name]
    assert reader.of_text is not None
    inline = eval(compile(reader.of_text, "<of_text>", "eval"), {}, {"raw": raw})
    assert inline == reader.read(raw)


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


def _debug_command(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m tiktok_destination.compiled ARGS...``, run as a user runs it."""
    command = [sys.executable, "-m", "tiktok_destination.compiled", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT)


def test_the_debug_command_prints_the_code(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(VARIANTS["app_and_pixel"]["settings"]), encoding="utf-8")
    shown = _debug_command(str(path), "app", "ios")
    assert shown.returncode == 0, shown.stderr
    assert "def build_user(node, reading, where):" in shown.stdout
    assert "# device_idfa -> idfa, from context.device.advertising_id" in shown.stdout
    assert "def assemble(node, reading, data):" in shown.stdout
    compile(shown.stdout, "<printed>", "exec")  # the printed text is the code itself


def test_the_debug_command_says_what_is_wrong_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"access_token": "t", "pixel_code": "P"}), encoding="utf-8")
    for named in (path, tmp_path / "missing.json"):
        shown = _debug_command(str(named))
        assert shown.returncode == 2 and shown.stdout == ""
        assert shown.stderr.count("\n") == 1 and "Traceback" not in shown.stderr
        assert str(named) in shown.stderr
    assert "pixel_code: unknown key" in _debug_command(str(path)).stderr
