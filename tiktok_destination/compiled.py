"""The payload sections compiled for one settings object: one generated function per section.

``assembler(config, source, platform)`` gives the function that adds an event's sections to its
``data[0]``. It calls, for every section of ``mapping.SECTIONS``, a generated function
``build_<section>(node, reading, where) -> dict`` that does exactly what
``sections.build_section`` does with that section's steps (the same reads, fallbacks, readers,
hashes, warnings and problems, in the same order), with the walk unrolled: each field's source
path read inline (the path prefixes a section shares read once), its reader and record bound
once, nothing looked up per event. The code is generated from the field records
(``sections.plan``), never from a list of fields written here, so a record added to
``mapping.FIELDS`` is compiled with the others; a smart-mapping expression that is not a plain
path (a template, a constant, a list index) is called as its compiled getter.

``python -m tiktok_destination.compiled SETTINGS.json [SOURCE [PLATFORM]]`` prints the code.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from functools import partial
from types import MappingProxyType
from typing import Any

from tiktok_destination.mapping import Section
from tiktok_destination.properties import build_properties
from tiktok_destination.readers import READERS
from tiktok_destination.sections import (
    FieldProblem,
    Reading,
    _Step,
    acts_when_missing,
    build_section,
    custom_section,
    finish,
    plan,
    user_hasher,
)
from tiktok_destination.settings import Config
from tiktok_destination.values import BadValue

Assemble = Callable[[Any, Reading, dict[str, Any]], None]
"""Adds the sections of one event to its ``data[0]``: ``assemble(event, reading, data)``."""


def _plain_paths(expression: Any) -> list[tuple[str, ...]] | None:
    """The key paths of an expression made of plain property paths only, else ``None``."""
    parts = expression if isinstance(expression, list) else [expression]
    paths = []
    for part in parts:
        if not isinstance(part, str) or "{{" in part:
            return None
        keys = tuple(part.split("."))
        if any(key.isdigit() for key in keys):
            return None
        paths.append(keys)
    return paths


class _Writer:
    """The text of one generated section function, and the objects its code names."""

    def __init__(self, names: dict[str, Any]) -> None:
        self.names = names
        self.header: list[str] = []
        """Reads of the path prefixes the fields share, at the top of the function."""
        self.lines: list[str] = []
        self.prefixes: dict[tuple[str, ...], str] = {}

    def bind(self, stem: str, value: Any) -> str:
        """A name for ``value`` in the generated module."""
        name = f"{stem}_{len(self.names)}"
        self.names[name] = value
        return name

    def line(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)

    def prefix(self, keys: tuple[str, ...]) -> str:
        """The variable holding the object at ``keys``, read at the top of the function; an
        empty read-only mapping when there is none, so that fields read it without a check."""
        if keys not in self.prefixes:
            parent = "node_" if len(keys) == 1 else self.prefix(keys[:-1])
            self.prefixes[keys] = name = f"at_{len(self.prefixes)}"
            self.header.append(f"    {name} = {parent}.get({keys[-1]!r})  # {'.'.join(keys)}")
            self.header.append(f"    if not isinstance({name}, dict):")
            self.header.append(f"        {name} = NOTHING")
        return self.prefixes[keys]


def _read_raw(writer: _Writer, step: _Step, config: Config, depth: int) -> None:
    """Code setting ``raw`` to the field's value in ``node`` (``None`` when empty)."""
    paths = _plain_paths(config.expressions.get(step.name))
    if paths is None:
        writer.line(depth, f"raw = FIELDS[{step.name!r}](node)  # not a plain path: its getter")
        return
    for index, keys in enumerate(paths):
        inner = depth if index == 0 else depth + 1
        if index:
            writer.line(depth, "if raw is None:")
        parent = "node_" if len(keys) == 1 else writer.prefix(keys[:-1])
        writer.line(inner, f"raw = {parent}.get({keys[-1]!r})")
        writer.line(inner, "if raw is not None and not raw and isinstance(raw, EMPTY_WHEN_FALSY):")
        writer.line(inner + 1, "raw = None")


def _step_code(writer: _Writer, step: _Step, config: Config) -> None:
    """One record's part of ``build_section``'s loop; what follows the read of a step that is
    not plain is ``sections.finish``, shared with the walk."""
    where = config.expressions.get(step.name)
    if isinstance(where, list) and all(isinstance(part, str) for part in where):
        shown = " or ".join(where)
    else:
        shown = json.dumps(where, ensure_ascii=True)
    writer.line(1, f"# {step.name} -> {step.key}, from {shown}")
    _read_raw(writer, step, config, 1)
    writer.line(1, "if raw is not None:")
    writer.line(2, "try:")
    if step.read is not None:
        read = f"{writer.bind('read', step.read)}(raw)"
        of_text = READERS[step.record.read or "string"].of_text
        if of_text is not None:  # the reader's result for a text, inline
            read = f"({of_text}) if raw.__class__ is str else {read}"
        writer.line(3, f"value = {read}")
    else:
        hasher = writer.bind("hash", user_hasher(step.record, config))
        writer.line(3, f"value = {hasher}(raw, reading.warnings)")
    writer.line(2, "except BadValue as problem:")
    if step.left_out is None:
        writer.line(3, f'raise FieldProblem(where + {step.name!r} + f": {{problem}}") from None')
    else:
        template = writer.bind("left_out", step.left_out)
        writer.line(
            3, f"reading.warnings.append({template}.format(where=where + {step.name!r}, "
            "problem=problem))"
        )  # fmt: skip
    writer.line(2, "else:")
    if step.plain:
        writer.line(3, "if value is not None:")
        writer.line(4, f"built[{step.key!r}] = value")
        return
    # ``finish`` of a value read: the key (and the value kept for the fields that read it).
    record = step.record
    writer.line(3, "if value is not None:")
    writer.line(4, f"built[{step.key!r}] = value")
    if step.kept:
        writer.line(4, f"reading.values[{step.name!r}] = value")
    if not acts_when_missing(record):
        return
    # ``finish`` of a missing value: fallbacks, default, the required check.
    finish = f"{writer.bind('record', record)}, {step.key!r}, {step.kept}"
    writer.line(3, "else:")
    writer.line(4, f"finish({finish}, None, built, reading, where)")
    writer.line(1, "else:")
    writer.line(2, f"finish({finish}, None, built, reading, where)")


def _function(
    section: Section, steps: Sequence[_Step], config: Config, names: dict[str, Any]
) -> str:
    writer = _Writer(names)
    for step in steps:
        _step_code(writer, step, config)
    head = [
        f"def build_{section}(node, reading, where):",
        f'    """The {section} section: {", ".join(step.name for step in steps) or "nothing"}."""',
        "    node_ = node if isinstance(node, dict) else NOTHING",
        *writer.header,
        "    built = {}",
    ]
    return "\n".join([*head, *writer.lines, "    return built", ""])


def _assembly(config: Config, source: str, platform: str | None) -> str:
    """``assemble``: each section built in turn, kept when not empty (``event``'s keys go to
    ``data[0]`` itself); ``properties`` also gets what the items add (``properties``)."""
    lines = [
        "def assemble(node, reading, data):",
        '    """data[0]: the sections built for the event, in payload order."""',
    ]
    for section, steps in plan(source, platform).items():
        if section == "properties":
            lines.append("    built = PROPERTIES(node, reading, build_properties, build_item)")
        elif section == "item" or not steps:
            continue
        else:
            lines.append(f"    built = build_{section}(node, reading, '')")
        if section == "user" and config.custom_user_properties:
            lines.append(
                "    built.update(custom_section(CUSTOM_USER, node, 'custom_user_properties'))"
            )
        if section == "event":
            lines.append("    data.update(built)")
        else:
            lines.extend(["    if built:", f"        data[{section!r}] = built"])
    return "\n".join(lines) + "\n"


def _names(config: Config) -> dict[str, Any]:
    """The names the generated code uses."""
    return {
        "BadValue": BadValue,
        "FieldProblem": FieldProblem,
        "finish": finish,
        "EMPTY_WHEN_FALSY": (str, list, dict),
        "NOTHING": MappingProxyType({}),
        "FIELDS": config.fields,
        "PROPERTIES": build_properties,
        "custom_section": custom_section,
        "CUSTOM_USER": config.custom_user_properties,
    }


def source_code(config: Config, source: str, platform: str | None) -> tuple[str, dict[str, Any]]:
    """The generated code for events of ``source`` (and device ``platform``), and its names."""
    names = _names(config)
    header = f"# Compiled for {source} events" + (f" from {platform}" if platform else "")
    functions = [
        _function(section, steps, config, names)
        for section, steps in plan(source, platform).items()
    ]
    assembly = _assembly(config, source, platform)
    return "\n\n".join([header, *functions, assembly]), names


def assembler(config: Config, source: str, platform: str | None) -> Assemble:
    """The code generated for ``config`` and events of ``source`` and ``platform``.

    Kept on the config itself (``Config.sections``): two threads compiling the same ones at
    once both get working functions, and one set is kept.
    """
    found: Assemble | None = config.sections.get((source, platform))
    if found is not None:
        return found
    code, names = source_code(config, source, platform)
    kept: Assemble = config.sections.setdefault((source, platform), _run(code, names, source))
    return kept


def walked(config: Config, source: str, platform: str | None) -> Assemble:
    """The same, but each section built by the generic field walk (``sections.build_section``):
    the reference tests and benchmarks compare the generated sections with."""
    names = _names(config)
    for section, steps in plan(source, platform).items():
        names[f"build_{section}"] = partial(build_section, steps)
    return _run(_assembly(config, source, platform), names, source)


def _run(code: str, names: dict[str, Any], source: str) -> Assemble:
    exec(compile(code, f"<compiled sections: {source}>", "exec"), names)
    assemble: Assemble = names["assemble"]
    return assemble


def main(argv: Sequence[str] | None = None) -> int:
    """Print the code compiled for a settings file: ``SETTINGS.json [SOURCE [PLATFORM]]``."""
    from tiktok_destination.errors import SettingsError
    from tiktok_destination.settings import compile_settings

    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print(__doc__.splitlines()[-1].strip(), file=sys.stderr)
        return 2
    try:
        with open(args[0], encoding="utf-8") as stream:
            config = compile_settings(json.load(stream))
    except (OSError, ValueError, SettingsError) as error:  # one line, never a traceback
        print(f"{args[0]}: {error}", file=sys.stderr)
        return 2
    source = args[1] if len(args) > 1 else "web"
    platform = args[2] if len(args) > 2 else None
    print(source_code(config, source, platform)[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
