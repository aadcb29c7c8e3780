"""The plugin's exceptions, under one root. None of them ever leaves a hook.

``FieldProblem`` (a field of one event cannot be sent) is raised by the transform, and by a
``{{template}}`` source expression that cannot write a value as text.
"""

from __future__ import annotations


class DestinationError(Exception):
    """Root of every exception this plugin raises on purpose."""


class SettingsError(DestinationError, ValueError):
    """Settings that cannot be used; ``problems`` lists every one, each naming its key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid settings: " + "; ".join(problems))
        self.problems = problems


class BadValue(DestinationError, ValueError):
    """A value that cannot be sent; the message says why, without naming the field."""


class FieldProblem(DestinationError, ValueError):
    """A field whose value cannot be sent; the message names the field."""
