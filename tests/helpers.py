"""Constants the tests share (fixtures are in ``conftest``)."""

from __future__ import annotations

TOKEN = "tt-SECRET-7f3a9c0e-never-print-me"
"""A distinctive token, searched for in every log, outcome and repr."""
