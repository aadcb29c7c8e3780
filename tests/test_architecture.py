"""The package's shape (docs/architecture.md): four wings over a small core, imports one way.

Every import of every module of the package is read from its source (those inside functions
too): a test fails on an import against the wing order or on a circle, and another holds the
module list of ``docs/architecture.md`` to the modules that are there.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tiktok_destination"
WINGS = ("transform", "delivery", "cli", "fleet")
FACE = frozenset({"plugin", "destination", "state", "__main__"})
"""Top-level modules where the wings meet for a host: the entry point and what its hooks do."""
MAY_IMPORT = {
    "core": {"core"},
    "transform": {"core", "transform"},
    "delivery": {"core", "transform", "delivery"},
    "face": {"core", "transform", "delivery", "face"},
    "fleet": {"core", "transform", "delivery", "face", "fleet"},
    "cli": {"core", "transform", "delivery", "face", "fleet", "cli"},
}
"""Which parts each part may import: core <- transform <- delivery <- face <- fleet <- cli."""
ENTRY = {"__main__": {"cli"}}
"""``python -m tiktok_destination`` runs the command line."""


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def imports() -> dict[str, set[str]]:
    """Each module of the package -> the modules of the package it imports."""
    modules = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
    found: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                base = node.module
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    targets.add(full if full in modules else base)
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
        found[name] = {t for t in targets if t in modules and t != name}
    return found


def part(module: str) -> str:
    names = module.split(".")[1:]
    if not names:
        return "core"
    if names[0] in WINGS:
        return names[0]
    return "face" if names[0] in FACE else "core"


def test_imports_run_one_way() -> None:
    wrong = []
    for module, targets in imports().items():
        allowed = MAY_IMPORT[part(module)] | ENTRY.get(module.split(".")[-1], set())
        wrong += [f"{module} -> {t}" for t in sorted(targets) if part(t) not in allowed]
    assert wrong == []


def test_there_is_no_import_circle() -> None:
    graph = imports()
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            raise AssertionError(" -> ".join([*path[path.index(module) :], module]))
        if module in done:
            return
        for target in sorted(graph[module]):
            if target != module.rpartition(".")[0]:  # a module reading its package's face
                visit(target, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])


def test_no_module_imports_another_modules_private_names() -> None:
    private = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                private += [
                    f"{module_name(path)}: {node.module}.{alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_") and alias.name != "__version__"
                ]
    assert private == []


def test_every_module_says_its_job_in_its_first_line() -> None:
    silent = [
        module_name(path)
        for path in sorted(PACKAGE.rglob("*.py"))
        if not (ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or "").strip()
    ]
    assert silent == []


def test_the_architecture_page_lists_every_module() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([a-z_/]+\.py)` \|", page, re.M))
    present = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "__init__.py" or path.parent != PACKAGE
    }
    present = {name for name in present if not name.endswith("__init__.py")}
    assert listed == present
