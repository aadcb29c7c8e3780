"""Exit codes of the command line, one table for every command, and the usage error (exit 2)."""

from __future__ import annotations

from collections import Counter

EXIT_OK = 0
"""Every event delivered, or skipped on purpose (no mapping, no consent)."""
EXIT_FAILED = 1
"""Some event ``failed``: try again later (``--resume``)."""
EXIT_USAGE = 2
"""Bad settings or usage: nothing was sent."""
EXIT_FIX_DATA = 3
"""Nothing failed, but some event was ``invalid`` or ``rejected``: fix the data or the mapping."""
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class UsageError(Exception):
    """Bad arguments or settings: one line on stderr, exit 2."""


def send_exit_code(counts: Counter[str]) -> int:
    """The exit code of a ``send`` that ran to its end, from its outcome counts."""
    if counts["failed"]:
        return EXIT_FAILED
    if counts["invalid"] or counts["rejected"]:
        return EXIT_FIX_DATA
    return EXIT_OK
