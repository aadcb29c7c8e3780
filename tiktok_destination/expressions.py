"""Source expressions: where a field's value is read from in an event.

An expression is a property path (``"user.email"``, ``"items.0.id"``), a template with ``{{path}}``
parts (``"{{user.first_name}} {{user.last_name}}"``), a constant (``{"value": ...}``) or a list of
expressions tried in order. ``compile_expression`` turns one into a getter once, so that reading a
field per event is a few dict look-ups. Getters return ``None`` for empty values; a template
raises ``FieldProblem`` naming its field for a part it cannot write as text (circular, too deep).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from tiktok_destination.errors import BadValue, FieldProblem

Getter = Callable[[Any], Any]

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


_CONTAINERS = (str, list, dict)
CANNOT_WRITE = "circular or too deeply nested: cannot be written as text"


def is_empty(value: Any) -> bool:
    """Missing, ``null``, ``""``, ``[]`` and ``{}`` are empty; ``0`` and ``false`` are values."""
    return value is None or (not value and isinstance(value, _CONTAINERS))


def _step(node: Any, key: str) -> Any:
    if isinstance(node, dict):
        return node.get(key)
    if isinstance(node, list) and key.isdigit():
        index = int(key)
        return node[index] if index < len(node) else None
    return None


def path_getter(path: str) -> Getter:
    """A getter walking ``path``: dots walk objects, a number walks a list."""
    keys = tuple(path.split("."))
    if any(key.isdigit() for key in keys):

        def get_indexed(node: Any) -> Any:
            for key in keys:
                node = _step(node, key)
                if node is None:
                    return None
            return None if is_empty(node) else node

        return get_indexed

    # No list indices: objects only, a missing key or a non-object ending the walk.
    def get(node: Any) -> Any:
        for key in keys:
            if not isinstance(node, dict):
                return None
            node = node.get(key)
        if node is None or (not node and isinstance(node, _CONTAINERS)):
            return None
        return node

    return get


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        try:
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        except (ValueError, RecursionError):  # json names a circular value ValueError
            raise BadValue(CANNOT_WRITE) from None
    return str(value)


def _template_getter(template: str, name: str) -> Getter:
    pieces = _PLACEHOLDER.split(template)
    texts = pieces[0::2]
    getters = [path_getter(path) for path in pieces[1::2]]

    def render(node: Any) -> Any:
        values = [getter(node) for getter in getters]
        if all(value is None for value in values):
            return None
        out = [texts[0]]
        try:
            for value, text in zip(values, texts[1:], strict=True):
                out.append("" if value is None else _as_text(value))
                out.append(text)
        except BadValue as problem:
            raise FieldProblem(f"{name}: {problem}") from None
        return "".join(out).strip() or None

    return render


def _first_of(getters: Sequence[Getter]) -> Getter:
    if len(getters) == 1:
        return getters[0]

    def first(node: Any) -> Any:
        for getter in getters:
            value = getter(node)
            if value is not None:
                return value
        return None

    return first


def compile_expression(expression: Any, name: str = "value") -> Getter:
    """Compile a source expression (already validated against the settings schema) of the field
    ``name`` (named in the ``FieldProblem`` of a template)."""
    if isinstance(expression, str):
        if _PLACEHOLDER.search(expression):
            return _template_getter(expression, name)
        return path_getter(expression)
    if isinstance(expression, dict):
        constant = None if is_empty(expression.get("value")) else expression["value"]
        return lambda _node: constant
    if isinstance(expression, list):
        return _first_of([compile_expression(part, name) for part in expression])
    raise TypeError(f"not a source expression: {type(expression).__name__}")
