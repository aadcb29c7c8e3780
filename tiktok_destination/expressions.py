"""Source expressions: where a field's value is read from in an event.

An expression is a property path (``"user.email"``, ``"items.0.id"``), a template with ``{{path}}``
parts (``"{{user.first_name}} {{user.last_name}}"``), a constant (``{"value": ...}``) or a list of
expressions tried in order. ``getter_for`` turns one into a getter once, so that reading a
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

_BRACE = re.compile(r"[{}]")

PATH_MAX_CHARS = 256
PATH_MAX_KEYS = 16
TEMPLATE_MAX_CHARS = 1000
_UNFIT = r"\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
"""What no key of a path holds: control characters (line breaks of every kind among them),
bidirectional overrides and unpaired surrogates."""
_KEY = rf"[^.{{}}{_UNFIT}]"
PATH_PATTERN = (
    rf"^(?![\s\S]{{{PATH_MAX_CHARS + 1}}}){_KEY}+(?:\.{_KEY}+){{0,{PATH_MAX_KEYS - 1}}}(?![\s\S])"
)
"""The grammar of a property path: keys joined by dots, none empty, no brace, nothing of
``_UNFIT``; at most ``PATH_MAX_KEYS`` keys and ``PATH_MAX_CHARS`` characters. The settings
schema carries it as the pattern of a path (a test holds the two equal); it is written so that
Python and JavaScript read it alike (no ``$``, which Python lets match before a final newline)."""
_PATH = re.compile(PATH_PATTERN)
_UNFIT_CHAR = re.compile(f"[{_UNFIT}]")


def path_problem(path: str) -> str | None:
    """Why ``path`` is not a property path (``PATH_PATTERN``), in words; ``None`` when it is."""
    if _PATH.search(path):
        return None
    unfit = _UNFIT_CHAR.search(path)
    if unfit is not None:
        return (
            f"a path holds no control character, line break or unpaired surrogate "
            f"(U+{ord(unfit.group()):04X} at character {unfit.start() + 1})"
        )
    if len(path) > PATH_MAX_CHARS:
        return f"a path is at most {PATH_MAX_CHARS} characters long (this one has {len(path)})"
    keys = path.split(".")
    if len(keys) > PATH_MAX_KEYS:
        return f"a path has at most {PATH_MAX_KEYS} keys (this one has {len(keys)})"
    if "" in keys:
        return "a path has no empty key (no leading, trailing or doubled dot)"
    return "a path holds no brace ({{path}} parts belong in a template)"


def expression_problem(text: str) -> str | None:
    """Why a text expression is neither a path nor a template of paths; ``None`` when it is."""
    paths = split_template(text)[1]
    if not paths:
        return path_problem(text)
    if len(text) > TEMPLATE_MAX_CHARS:
        return f"a template is at most {TEMPLATE_MAX_CHARS} characters long"
    for path in paths:
        problem = path_problem(path)
        if problem is not None:
            return f"in a {{{{path}}}} part: {problem}"
    return None


EMPTY_WHEN_FALSY = (str, list, dict)
"""The types whose empty value is empty (``is_empty``); getters inline the check for speed."""
CANNOT_WRITE = "circular or too deeply nested: cannot be written as text"


def is_empty(value: Any) -> bool:
    """Missing, ``null``, ``""``, ``[]`` and ``{}`` are empty; ``0`` and ``false`` are values."""
    return value is None or (not value and isinstance(value, EMPTY_WHEN_FALSY))


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

    return _FITTED[len(keys)](*keys) if len(keys) in _FITTED else _object_walk(keys)


def _object_walk(keys: tuple[str, ...]) -> Getter:
    """No list indices: objects only, a missing key or a non-object ending the walk."""

    def get(node: Any) -> Any:
        for key in keys:
            if not isinstance(node, dict):
                return None
            node = node.get(key)
        if node is None or (not node and isinstance(node, EMPTY_WHEN_FALSY)):
            return None
        return node

    return get


# The same walk fitted to the common depths, with no loop: most fields are read this way, once
# or more per event (``_object_walk`` is the rule; a property test holds these to it).


def _one_key(k1: str) -> Getter:
    def get(node: Any) -> Any:
        value = node.get(k1) if isinstance(node, dict) else None
        return (
            None if value is None or (not value and isinstance(value, EMPTY_WHEN_FALSY)) else value
        )

    return get


def _two_keys(k1: str, k2: str) -> Getter:
    def get(node: Any) -> Any:
        if not isinstance(node, dict):
            return None
        node = node.get(k1)
        value = node.get(k2) if isinstance(node, dict) else None
        return (
            None if value is None or (not value and isinstance(value, EMPTY_WHEN_FALSY)) else value
        )

    return get


def _three_keys(k1: str, k2: str, k3: str) -> Getter:
    def get(node: Any) -> Any:
        if not isinstance(node, dict):
            return None
        node = node.get(k1)
        if not isinstance(node, dict):
            return None
        node = node.get(k2)
        value = node.get(k3) if isinstance(node, dict) else None
        return (
            None if value is None or (not value and isinstance(value, EMPTY_WHEN_FALSY)) else value
        )

    return get


_FITTED: dict[int, Callable[..., Getter]] = {1: _one_key, 2: _two_keys, 3: _three_keys}


def object_keys(expression: Any) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """Where a plain read finds the value of ``expression``: the keys walking to the object that
    holds it, and the keys of that object tried in order; ``None`` when it is not a path, or a
    list of paths, into one object (a template, a constant, a list index, two objects)."""
    paths = [expression] if isinstance(expression, str) else expression
    if not isinstance(paths, list) or not paths:
        return None
    parents: set[tuple[str, ...]] = set()
    leaves: list[str] = []
    for path in paths:
        if not isinstance(path, str) or split_template(path)[1]:
            return None
        *parent, leaf = path.split(".")
        if any(key.isdigit() for key in (*parent, leaf)):
            return None
        parents.add(tuple(parent))
        leaves.append(leaf)
    return (parents.pop(), tuple(leaves)) if len(parents) == 1 else None


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


def split_template(template: str) -> tuple[list[str], list[str]]:
    """A template's texts and the paths of its ``{{path}}`` parts between them (a part holds no
    brace; the spaces around its path do not count), in one pass: ``len(texts)`` is always
    ``len(paths) + 1``. No placeholder: the whole text and no path."""
    texts: list[str] = []
    paths: list[str] = []
    start = 0  # where the current text begins
    at = template.find("{{")
    while at != -1:
        brace = _BRACE.search(template, at + 2)
        if brace is not None and template.startswith("}}", brace.start()):
            texts.append(template[start:at])
            paths.append(template[at + 2 : brace.start()].strip())
            start = brace.start() + 2
            at = template.find("{{", start)
        else:  # no part starts here: the next "{{" is at the brace found or after it
            at = template.find("{{", at + 1 if brace is None else max(at + 1, brace.start() - 1))
    texts.append(template[start:])
    return texts, paths


def _template_getter(texts: list[str], paths: list[str], name: str) -> Getter:
    getters = [path_getter(path) for path in paths]

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


def getter_for(expression: Any, name: str = "value") -> Getter:
    """Compile a source expression (already validated against the settings schema) of the field
    ``name`` (named in the ``FieldProblem`` of a template)."""
    if isinstance(expression, str):
        texts, paths = split_template(expression)
        return _template_getter(texts, paths, name) if paths else path_getter(expression)
    if isinstance(expression, dict):
        constant = None if is_empty(expression.get("value")) else expression["value"]
        return lambda _node: constant
    if isinstance(expression, list):
        return _first_of([getter_for(part, name) for part in expression])
    raise TypeError(f"not a source expression: {type(expression).__name__}")
