"""Exit codes of the command line, one table for every command, and the usage error (exit 2)."""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple


class Exit(NamedTuple):
    """One exit code and what it tells whoever ran the command (docs/command-line.md's table)."""

    code: int
    meaning: str


EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_FIX_DATA = 3
EXIT_CONFIG = 4
EXIT_SIGINT = 130
EXIT_SIGTERM = 143

EXITS: tuple[Exit, ...] = (
    Exit(EXIT_OK, "every event delivered, or skipped on purpose (no mapping, no consent)"),
    Exit(EXIT_FAILED, "some event `failed`: try again later (`--resume`); also a full disk"),
    Exit(
        EXIT_USAGE,
        "bad settings or usage (a missing events file, an unwritable `--outcomes`, `--outcomes` "
        "naming an input or not a regular file, an `--outcomes` file another run is writing): "
        "nothing was sent",
    ),
    Exit(
        EXIT_FIX_DATA,
        "nothing failed, but some event was `invalid` or `rejected`: fix the data or the mapping",
    ),
    Exit(
        EXIT_CONFIG,
        "TikTok refused the configuration (the access token, its permission for an id, or "
        "`api_url`): retrying will not help; fix the settings as the last line on stderr says, "
        "then `--resume`",
    ),
    Exit(EXIT_SIGINT, "stopped by Ctrl-C (SIGINT)"),
    Exit(EXIT_SIGTERM, "stopped by SIGTERM"),
)
"""Every exit code of ``send`` (the other commands use some of them), as the docs give them."""


class UsageError(Exception):
    """Bad arguments or settings: one line on stderr, exit 2."""


def send_exit_code(counts: Counter[str], *, config_refused: bool = False) -> int:
    """The exit code of a ``send`` that ran to its end, from its outcome counts and whether
    TikTok refused the configuration (then retrying cannot help: that comes first)."""
    if config_refused and counts["failed"]:
        return EXIT_CONFIG
    if counts["failed"]:
        return EXIT_FAILED
    if counts["invalid"] or counts["rejected"]:
        return EXIT_FIX_DATA
    return EXIT_OK
