"""Which variant is loaded, pure Python or compiled by mypyc (README "Compiled speed-up").

``scripts/test`` runs the transform tests a second time in a virtual environment with the
compiled build, ``TIKTOK_DESTINATION_VARIANT=compiled`` set: there the first test fails if the
compiled modules are not the ones loaded (a build that fell back to pure Python, or a source
tree shadowing the installed package), so the transform tests around it really tested them.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest

from tiktok_destination import variant

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = os.environ.get("TIKTOK_DESTINATION_VARIANT", "pure")


def _build_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hatch_build", ROOT / "hatch_build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_expected_variant_is_loaded() -> None:
    assert EXPECTED in ("pure", "compiled"), f"TIKTOK_DESTINATION_VARIANT={EXPECTED!r}"
    if EXPECTED == "compiled":
        assert variant.compiled_modules() == list(variant.COMPILED)
        assert variant.compiled_with_mypyc()
        assert variant.describe() == "compiled with mypyc"
    else:  # the edit-test loop tests the checkout, never an installed copy of it
        assert Path(variant.__file__).parent == ROOT / "tiktok_destination"
        assert variant.compiled_modules() == []
        assert not variant.compiled_with_mypyc()
        assert variant.describe() == "pure Python"


def test_the_build_compiles_the_modules_variant_names() -> None:
    assert _build_hook().compiled_modules(ROOT) == list(variant.COMPILED)
    for name in variant.COMPILED:
        assert (ROOT / Path(*name.split("."))).with_suffix(".py").is_file()


@pytest.mark.parametrize(("switch", "asks"), [(None, False), ("0", False), ("1", True)])
def test_only_the_switch_makes_the_build_ask_for_a_compiler(
    monkeypatch: pytest.MonkeyPatch, switch: str | None, asks: bool
) -> None:
    hook = _build_hook()
    if switch is None:
        monkeypatch.delenv(hook.SWITCH, raising=False)
    else:
        monkeypatch.setenv(hook.SWITCH, switch)
    assert hook.wanted() is asks
