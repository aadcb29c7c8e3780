"""Plain fields read straight from the objects that hold them, each object reached once an event.

Most fields of a section are *plain* (``sections._Step.plain``): a path, or a list of paths, into
one object of the event, turned into what TikTok takes by a reader, sent when not empty; no
fallback, default or hash. ``object_reader`` groups a section's plain fields by the object that
holds them (``context.device``: the ip, the user agent, the language) into a tree of objects, made
once per settings object. An event's walk then reaches each object once, and a missing object
passes over all of its fields at once. The values are those of the field's getter
(``expressions.getter_for``) and reader, as ``sections.build_section`` reads the other fields; a
property test holds the two walks equal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from tiktok_destination.errors import BadValue, FieldProblem
from tiktok_destination.transform.values import to_string

_CONTAINERS = (str, list, dict)


class Leaf(NamedTuple):
    """One plain field, read from the object that holds it."""

    keys: str | tuple[str, ...]
    """The object's key, or its keys tried in order (the first one not empty)."""
    target: str
    """The section's key."""
    read: Callable[[Any], Any] | None
    """The reader; ``None``: the ``string`` reader, which takes text as it is."""
    name: str
    left_out: str | None
    """The warning for a bad value left out; ``None``: a bad value makes the event invalid."""


ObjectRead = Callable[[dict[str, Any], dict[str, Any], list[str], str], None]
"""Reads an object's plain fields into a section: ``read(obj, built, warnings, where)``."""


def object_reader(fields: Sequence[tuple[tuple[str, ...], Leaf]]) -> ObjectRead | None:
    """What reads ``fields`` (each with the keys walking to its object) from a section's node;
    ``None`` when there are none."""
    if not fields:
        return None
    tree: dict[tuple[str, ...], list[Leaf]] = {}
    for keys, leaf in fields:
        for depth in range(len(keys) + 1):
            tree.setdefault(keys[:depth], [])
        tree[keys].append(leaf)
    return _node_reader((), tree)


def _node_reader(at: tuple[str, ...], tree: dict[tuple[str, ...], list[Leaf]]) -> ObjectRead:
    children = tuple(
        (keys[-1], _node_reader(keys, tree))
        for keys in tree
        if len(keys) == len(at) + 1 and keys[: len(at)] == at
    )
    return _reader(tuple(tree[at]), children)


def _reader(leaves: tuple[Leaf, ...], children: tuple[tuple[str, ObjectRead], ...]) -> ObjectRead:
    def read_object(
        obj: dict[str, Any], built: dict[str, Any], warnings: list[str], where: str
    ) -> None:
        for keys, target, read, name, left_out in leaves:
            if keys.__class__ is str:
                raw = obj.get(keys)
                if raw is None or (not raw and isinstance(raw, _CONTAINERS)):
                    continue
            else:
                for key in keys:
                    raw = obj.get(key)
                    if raw is not None and (raw or not isinstance(raw, _CONTAINERS)):
                        break
                else:
                    continue
            if read is None:
                if raw.__class__ is str:
                    built[target] = raw
                    continue
                read = to_string
            try:
                value = read(raw)
            except BadValue as problem:
                if left_out is None:
                    raise FieldProblem(f"{where}{name}: {problem}") from None
                warnings.append(left_out.format(where=where + name, problem=problem))
                continue
            if value is not None:
                built[target] = value
        for key, read_child in children:
            child = obj.get(key)
            if isinstance(child, dict):
                read_child(child, built, warnings, where)

    return read_object
