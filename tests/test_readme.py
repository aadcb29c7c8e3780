"""The README and docs/ tell the truth: the host snippet runs, the tables match the code, the
links resolve."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.helpers import README, TOKEN, doc, readme_table
from support.tiktok_server import FakeTikTok

from tiktok_destination import settings
from tiktok_destination.fields import EVENT_TABLE, FIELDS, Field


def test_the_host_snippet_runs(tiktok: FakeTikTok) -> None:
    snippet = re.search(r"```python\n(.*?)```", README, re.S)
    assert snippet is not None
    namespace: dict[str, Any] = {
        "settings": {"access_token": TOKEN, "pixel_id": "PIXEL", "api_url": tiktok.url},
        "event": {"event_name": "add_to_cart", "id": "readme-1"},
    }
    exec(snippet.group(1), namespace)
    assert namespace["problems"] == []
    assert namespace["outcome"]["status"] == "ok"
    assert [o["payload"]["data"][0]["event_id"] for o in namespace["outcomes"]] == ["readme-1"]
    assert [result["status"] for result in namespace["results"]] == ["delivered"]
    assert tiktok.event_ids == ["readme-1"]


def test_the_event_table_is_the_code_table() -> None:
    rows = readme_table("CDP event", doc("fields"))
    expected = [[row.event, row.web or "—", row.app or "—"] for row in EVENT_TABLE]
    assert rows == expected


def test_the_settings_table_names_every_setting() -> None:
    keys = {key for row in readme_table("key") for key in re.findall(r"[a-z_]+", row[0])}
    assert set(settings.schema()["properties"]) <= keys


def _target(field: Field) -> str:
    if field.target is None:
        return "—"
    section, key = field.target
    return {"request": key, "event": key, "item": f"contents[].{key}"}.get(
        section, f"{section}.{key}"
    )


def test_the_field_table_is_the_field_records() -> None:
    rows = readme_table("field", doc("fields"))
    assert [row[0] for row in rows] == [field.name for field in FIELDS]
    for field, (_name, source, target, notes) in zip(FIELDS, rows, strict=True):
        assert source == ("`, `".join(field.source) or "—"), field.name
        assert target == _target(field), field.name
        says = {
            "web only": field.scope == "web",
            "app only": field.scope == "app",
            "iOS": field.platform == "ios",
            "Android": field.platform == "android"
            or any(platform == "android" for platform, _read in field.platform_reads),
            "hashed": field.hashing is not None or (field.read or "").endswith("_hash"),
            "left out with a warning": field.on_bad == "warn",
            "required": field.required is not None,
        }
        expected = {words for words, is_so in says.items() if is_so}
        assert {words for words in says if words in notes} == expected, field.name


def test_ci_runs_the_readme_test_command() -> None:
    command = README.split("One command runs the tests", 1)[1].split("```sh\n", 1)[1]
    command = command.split("\n```", 1)[0].strip()
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.strip().splitlines()[-1] == command


ROOT = Path(__file__).resolve().parents[1]


def _outside_code(text: str) -> str:
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def _anchors(text: str) -> set[str]:
    """GitHub's anchors for the headings of a markdown text."""
    headings = re.findall(
        r"^#{1,6} +(.+?) *$", re.sub(r"^```.*?^```", "", text, flags=re.S | re.M), re.M
    )
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_every_relative_link_resolves() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", _outside_code(text)):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.is_file():
                broken.append(f"{page.name}: {target} (no such file)")
            elif anchor and anchor not in _anchors(file.read_text(encoding="utf-8")):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert broken == []


# The walkthroughs: every shell block of these pages is marked, and the ones a reader is told to
# run are run as pasted into a fresh bash after the README's first command (a checkout holding
# `examples/` and `.venv`), with no virtual environment on the PATH. docs/scaling-out.md's
# blocks are the fleet's (its quickstart has a test of its own).
RUNS = "<!-- runs as pasted -->"
NOT_RUN = "<!-- not run"
PAGES = ["README.md", *(f"docs/{p.name}" for p in sorted((ROOT / "docs").glob("*.md")))]
WALKED = [page for page in PAGES if page != "docs/scaling-out.md"]
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


def _shell_blocks(page: str) -> list[tuple[str, str]]:
    """``(marker line before it, text)`` of each shell block of ``page``."""
    text = (ROOT / page).read_text(encoding="utf-8")
    return re.findall(r"^([^\n]*)\n```(?:sh|bash|shell|console)\n(.*?)^```", text, re.M | re.S)


def test_every_shell_block_says_whether_it_runs_as_pasted() -> None:
    unmarked = [
        f"{page}: {block.splitlines()[0]}"
        for page in WALKED
        for marker, block in _shell_blocks(page)
        if marker != RUNS and not marker.startswith(NOT_RUN)
    ]
    assert unmarked == []


def _checkout(tmp_path: Path) -> Path:
    """What the README's first command leaves: the examples, and ``.venv`` holding the
    package (the one these tests run in)."""
    venv = Path(sys.prefix)
    assert (venv / "bin" / "tiktok-destination").is_file(), "run the tests from a venv"
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "examples", checkout / "examples")
    (checkout / ".venv").symlink_to(venv)
    (tmp_path / "tmp").mkdir()
    return checkout


def _paste(script: str, checkout: Path) -> subprocess.CompletedProcess[str]:
    """``script`` in a fresh bash in ``checkout``: a bare environment, no venv on PATH."""
    env = {"PATH": SYSTEM_PATH, "HOME": str(checkout.parent), "LANG": "C.UTF-8"}
    env["TMPDIR"] = str(checkout.parent / "tmp")
    assert str(Path(sys.prefix) / "bin") not in env["PATH"].split(os.pathsep)
    return subprocess.run(
        ["bash", "-c", script],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


RUN_BLOCKS = [
    pytest.param(block, id=f"{page}#{n}")
    for page in WALKED
    for n, (marker, block) in enumerate(_shell_blocks(page))
    if marker == RUNS
]


def test_some_block_runs_as_pasted() -> None:
    assert len(RUN_BLOCKS) >= 1  # the local walkthrough


@pytest.mark.parametrize("block", RUN_BLOCKS)
def test_the_walkthroughs_run_as_pasted(tmp_path: Path, block: str) -> None:
    checkout = _checkout(tmp_path)
    before = sorted(p.name for p in checkout.iterdir())
    done = _paste(block, checkout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "command not found" not in done.stderr
    assert sorted(p.name for p in checkout.iterdir()) == before  # nothing left in the checkout
    if "emulate" in block:  # the local walkthrough: sent twice, each event kept once
        kept = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        ids = [event["event_id"] for event in kept]
        assert len(ids) == len(set(ids)) >= 5
        first, second = done.stdout.split("outcomes: ", 1)[1].split()
        assert first != second  # the second run keeps the first's outcomes
        for path in (first, second):
            statuses = {json.loads(line)["status"] for line in Path(path).read_text().splitlines()}
            assert statuses >= {"delivered", "skipped", "invalid"}


def test_the_first_command_shows_no_warning_about_the_examples(tmp_path: Path) -> None:
    _marker, first = _shell_blocks("README.md")[0]
    make, install, command = first.strip().split(" && ")
    assert (make, install) == ("python3 -m venv .venv", ".venv/bin/pip install .")
    done = _paste(command, _checkout(tmp_path))
    assert done.returncode == 0 and done.stderr == "", done.stderr
    warned = {
        (outcome["line"], warning)
        for outcome in map(json.loads, done.stdout.splitlines())
        for warning in outcome.get("warnings", [])
    }
    # line 5 shows warnings about its data on purpose: no id, a phone that is no phone
    assert {(line, warning.split(":")[0]) for line, warning in warned} == {
        (5, "event_id"),
        (5, "user_phone"),
    }


def test_the_test_command_prints_a_header_before_each_phase() -> None:
    script = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    phases = int(re.search(r"^PHASES=(\d+)$", script, re.M).group(1))  # type: ignore[union-attr]
    lines = [line.strip() for line in script.splitlines()]
    commands = [
        line for line in lines if line.startswith((".venv", "python3", "scripts/", "HYP", "TIK"))
    ]
    headers = [n for n, line in enumerate(lines) if line.startswith('header "')]
    assert len(headers) == phases and commands
    first_command = lines.index(commands[0])
    assert headers[0] < first_command  # nothing runs before the first header
