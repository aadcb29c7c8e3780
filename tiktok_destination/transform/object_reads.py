"""Plain fields read straight from the objects that hold them, each object reached once an event.

Most fields of a section are *plain* (``sections._Step.plain``): a path, or a list of paths, into
one object of the event, turned into what TikTok takes by a reader or hashed, sent when not
empty; no fallback or default. ``fitted_builder`` reads the plain fields that come one after
the other from one object (``context.device``: the ip, the user agent, the language) straight
from it, found once; a missing object passes over them all at once. The other fields are read
by the general walk, in their place: keys, warnings and the field an invalid event names come in
the order of the field records. The values are those of
each field's getter (``expressions.getter_for``) and reader; a property test holds the two walks
equal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from tiktok_destination.errors import BadValue, FieldProblem
from tiktok_destination.expressions import EMPTY_WHEN_FALSY
from tiktok_destination.transform.values import to_string

Path = tuple[str, ...]


class Walk(Protocol):
    """What a section's walk shares across sections (``sections.EventWalk``)."""

    warnings: list[str]


Built = dict[str, Any]
WalkStep = Callable[[Any, Any, Built, Any, str], None]
"""The general walk of one field: ``walk_step(step, node, built, reading, where)``."""


class Leaf(NamedTuple):
    """One plain field, read from the object that holds it."""

    keys: str | tuple[str, ...]
    """The object's key, or its keys tried in order (the first one not empty)."""
    target: str
    """The section's key."""
    read: Callable[[Any], Any] | None
    """The reader; ``None``: hashed by ``hash``, else the ``string`` reader (text as it is)."""
    hash: Callable[[Any, list[str]], Any] | None
    """How a hashed field's value is hashed, its warnings added to the list."""
    name: str
    left_out: str | None
    """The warning for a bad value left out; ``None``: a bad value makes the event invalid."""


class _Run(NamedTuple):
    """Fields next to each other in the section's order: plain ones of one object, or one
    field read by the general walk."""

    step: Any
    """A field read by the general walk (``None``: plain fields)."""
    path: Path
    leaves: list[Leaf]


class Fields:
    """A section's fields in their order, as ``fitted_builder`` reads them: plain ones of one
    object are read together, after that object is found once."""

    def __init__(self) -> None:
        self.runs: list[_Run] = []

    def plain(self, path: Path, leaf: Leaf) -> None:
        """A plain field, read from the object at ``path``."""
        if self.runs and self.runs[-1].step is None and self.runs[-1].path == path:
            self.runs[-1].leaves.append(leaf)
        else:
            self.runs.append(_Run(None, path, [leaf]))

    def walked(self, step: Any) -> None:
        """A field the general walk reads, in its place."""
        self.runs.append(_Run(step, (), []))


def fitted_builder(fields: Fields, walk_step: WalkStep) -> Callable[[Any, Any, str], Built]:
    """A section's builder: its fields read in turn, the plain ones straight from their objects,
    the others by ``walk_step``."""
    runs = tuple((run.step, run.path, tuple(run.leaves)) for run in fields.runs)

    def build(node: Any, reading: Walk, where: str) -> Built:
        built: Built = {}
        for step, path, leaves in runs:
            if step is not None:
                walk_step(step, node, built, reading, where)
                continue
            obj = node
            for key in path:  # no function call: most paths are a key or two long
                if not isinstance(obj, dict):
                    break
                obj = obj.get(key)
            if not isinstance(obj, dict):
                continue
            for keys, target, read, hash_value, name, left_out in leaves:
                if keys.__class__ is str:
                    raw = obj.get(keys)
                    if raw is None or (not raw and isinstance(raw, EMPTY_WHEN_FALSY)):
                        continue
                else:
                    for key in keys:
                        raw = obj.get(key)
                        if raw is not None and (raw or not isinstance(raw, EMPTY_WHEN_FALSY)):
                            break
                    else:
                        continue
                if read is None:
                    if hash_value is not None:
                        value = hash_value(raw, reading.warnings)
                        if value is not None:
                            built[target] = value
                        continue
                    if raw.__class__ is str:
                        built[target] = raw
                        continue
                    read = to_string
                try:
                    value = read(raw)
                except BadValue as problem:
                    if left_out is None:
                        raise FieldProblem(f"{where}{name}: {problem}") from None
                    reading.warnings.append(left_out.format(where=where + name, problem=problem))
                    continue
                if value is not None:
                    built[target] = value
        return built

    return build
