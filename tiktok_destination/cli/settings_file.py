"""Settings files for the command line: JSON, ``$schema`` allowed, the environment's token first.

``TIKTOK_ACCESS_TOKEN`` overrides the file's ``access_token``, as environment variables
override files in the tools data engineers use, and the commands that send say which one they
use. Commands that send nothing work without a token.
"""

from __future__ import annotations

import json
import os
from typing import IO, Any

from tiktok_destination import settings as settings_module
from tiktok_destination.cli.exits import UsageError

TOKEN_ENV = settings_module.TOKEN_ENV
NO_TOKEN = "not-needed-to-send-nothing"
"""Stands in for a missing token in commands that send nothing; never sent."""


def read_settings_file(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as stream:
            loaded = json.load(stream)
    except OSError as error:
        raise UsageError(f"{path}: cannot read settings ({error.strerror})") from None
    except (ValueError, RecursionError) as error:
        raise UsageError(f"{path}: settings are not JSON ({error})") from None
    if isinstance(loaded, dict):
        loaded.pop("$schema", None)
    return loaded


def token_source(path: str, loaded: Any) -> str | None:
    """Where the token comes from, in words; ``None`` when there is none."""
    in_file = isinstance(loaded, dict) and "access_token" in loaded
    if os.environ.get(TOKEN_ENV):
        return TOKEN_ENV + (f" (it overrides access_token in {path})" if in_file else "")
    return f"access_token in {path}" if in_file else None


def load_settings(path: str, *, sending: bool = True, err: IO[str] | None = None) -> dict[str, Any]:
    """Valid settings from ``path`` (``UsageError`` listing every problem otherwise).

    ``sending``: the command sends, so a token is required and ``err`` is told where it is from.
    """
    loaded = read_settings_file(path)
    source = token_source(path, loaded)
    if isinstance(loaded, dict):
        if os.environ.get(TOKEN_ENV):
            loaded["access_token"] = os.environ[TOKEN_ENV]
        elif source is None and not sending:
            loaded["access_token"] = NO_TOKEN
    if sending and source is None:
        raise UsageError(f"no access token: set {TOKEN_ENV}, or access_token in {path}")
    problems = settings_module.validate(loaded)
    if problems:
        raise UsageError("invalid settings:\n" + "\n".join(f"  {problem}" for problem in problems))
    if sending and err is not None:
        print(f"access token: {source}", file=err)
    assert isinstance(loaded, dict)  # validate() refuses anything else
    return loaded
