"""The README and docs/ tell the truth: the host snippet runs, the tables match the code, the
links resolve."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

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
