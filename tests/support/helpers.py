"""What the tests share besides fixtures (those are in ``conftest``)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from jsonschema import Draft202012Validator

from tiktok_destination import resources

TOKEN = "tt-SECRET-7f3a9c0e-never-print-me"
"""A distinctive token, searched for in every log, outcome and repr."""
OUTPUT_SCHEMA = "schemas/event-track-request.schema.json"
DOCS = Path(__file__).resolve().parents[2] / "docs"
README = (DOCS.parent / "README.md").read_text(encoding="utf-8")


def doc(name: str) -> str:
    """The text of the documentation page ``docs/<name>.md``."""
    return (DOCS / f"{name}.md").read_text(encoding="utf-8")


def readme_table(first_header: str, text: str = README) -> list[list[str]]:
    """The cells of the table in ``text`` (the README, or a page given by ``doc``) whose header
    starts with ``first_header``, row by row (back-quotes stripped)."""
    rows = []
    for line in text.split(f"| {first_header} |", 1)[1].splitlines()[2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip().strip("`") for cell in line.strip("|").split("|")])
    return rows


@cache
def output_validator() -> Draft202012Validator:
    """The Events API 2.0 request schema, itself checked, as a validator.

    Tests take it as the ``output_schema`` fixture; property-test helpers call this directly.
    """
    schema = resources.load_json(OUTPUT_SCHEMA)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)
