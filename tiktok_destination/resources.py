"""Reads the files that ship with the plugin: ``plugin.json`` and ``schemas/*.json``.

An installed wheel carries them inside the package; a source checkout has them at the top level
of the repository, which is where they are kept.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

_CHECKOUT_ROOT = Path(__file__).resolve().parent.parent


def read_text(name: str) -> str:
    """The text of a shipped file, ``name`` relative to the package (``"schemas/x.json"``)."""
    packaged = resources.files(__package__).joinpath(name)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (_CHECKOUT_ROOT / name).read_text(encoding="utf-8")


@cache
def _parsed(name: str) -> str:
    return read_text(name)


def load_json(name: str) -> Any:
    """A fresh parse of a shipped JSON file (callers may change what they get)."""
    return json.loads(_parsed(name))
