"""The optional compiled build (README "Compiled speed-up"), a hatchling build hook.

With ``TIKTOK_DESTINATION_COMPILE=1`` in the environment, the wheel carries the modules named by
``COMPILED`` in ``tiktok_destination/variant.py`` compiled by mypyc, beside their ``.py`` sources
(Python's import system takes an extension module before a source file). Only then does the build
ask for mypy, setuptools and a C compiler. Without it this hook does nothing: ``pip install .``
gives the pure-Python package and needs no compiler.

The switch is opt-in, never a silent fallback: asked for, the compiled build either succeeds or
fails the install with the compiler's message. The C code and objects are made in a temporary
directory, never in the source tree (an editable install there stays pure Python).
"""

from __future__ import annotations

import ast
import importlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SWITCH = "TIKTOK_DESTINATION_COMPILE"
TOOLS = ["mypy>=1.10", "setuptools", "types-jsonschema"]
"""What compiling needs besides the runtime dependencies (mypy type-checks against them)."""


def compiled_modules(root: Path) -> list[str]:
    """The ``COMPILED`` tuple of ``tiktok_destination/variant.py``, read without importing it."""
    tree = ast.parse((root / "tiktok_destination" / "variant.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == ["COMPILED"]:
            return list(ast.literal_eval(node.value))
    raise RuntimeError("tiktok_destination/variant.py assigns no COMPILED tuple")


def wanted() -> bool:
    return os.environ.get(SWITCH, "") == "1"


class CompileHook(BuildHookInterface):  # type: ignore[type-arg]
    """Compiles ``COMPILED`` into the wheel when ``TIKTOK_DESTINATION_COMPILE=1``."""

    PLUGIN_NAME = "custom"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.work: Path | None = None

    def dependencies(self) -> list[str]:
        return [*TOOLS, *self.metadata.core.dependencies] if wanted() else []

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if not wanted() or self.target_name != "wheel":
            return
        if version == "editable":
            self.app.display_warning(f"{SWITCH}=1: an editable install stays pure Python")
            return
        self.work = Path(tempfile.mkdtemp(prefix="tiktok-destination-mypyc-"))
        built = compile_into(Path(self.root), self.work)
        for path in built.rglob("*"):
            if path.is_file():
                build_data["force_include"][str(path)] = path.relative_to(built).as_posix()
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        if self.work is not None:
            shutil.rmtree(self.work, ignore_errors=True)


def compile_into(root: Path, work: Path) -> Path:
    """Compile the modules with mypyc under ``work``; the folder of the built extension modules."""
    from mypyc.build import mypycify

    # setuptools carries its types only from 71 on; a venv's own may be older
    distribution_class = importlib.import_module("setuptools").Distribution
    sources = [str(Path(*name.split(".")).with_suffix(".py")) for name in compiled_modules(root)]
    here = Path.cwd()
    os.chdir(root)  # mypy finds the package (and its [tool.mypy] settings) from here
    try:
        extensions = mypycify(
            ["--cache-dir", str(work / "mypy-cache"), *sources],
            target_dir=str(work / "c"),
            group_name="tiktok_destination",
        )
        distribution = distribution_class({"name": "tiktok-destination", "ext_modules": extensions})
        build = distribution.get_command_obj("build_ext")
        build.build_lib = str(work / "lib")
        build.build_temp = str(work / "objects")
        distribution.run_command("build_ext")
    finally:
        os.chdir(here)
    return work / "lib"
