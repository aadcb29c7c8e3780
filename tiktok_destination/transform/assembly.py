"""The assembly of ``data[0]`` for one settings object: the field walk of each section, bound once.

``assembler(config, source, platform)`` gives the function that adds an event's sections to its
``data[0]``, built from plain closures over ``sections.build_section`` and the steps
``sections.plan`` gives for that source and device platform. Nothing is built from text: an
event's data and the settings' strings are only ever values the walk reads. Assemblies are kept
on the config (``Config.sections``), keyed by the event source and the platform reduced to
``ios``, ``android`` or ``None``, so there are at most a dozen of them per settings object.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from tiktok_destination.facts import EVENT_SOURCES
from tiktok_destination.fields import PLATFORMS
from tiktok_destination.settings import Config
from tiktok_destination.transform.properties import build_properties
from tiktok_destination.transform.sections import (
    Builder,
    EventWalk,
    custom_section,
    plan,
    section_builder,
)

Assemble = Callable[[Any, EventWalk, dict[str, Any]], None]
"""Adds the sections of one event to its ``data[0]``: ``assemble(event, walk, data)``."""


def assembler(config: Config, source: str, platform: str | None) -> Assemble:
    """The assembly for ``config`` and events of ``source`` and ``platform`` (made once; two
    threads making it at once both get a working one, and one is kept)."""
    found: Assemble | None = config.sections.get((source, platform))
    if found is not None:
        return found
    kept: Assemble = config.sections.setdefault(
        (source, platform), _assembly(config, source, platform)
    )
    return kept


def walked_twin(config: Config) -> Config:
    """A copy of ``config`` whose assemblies read every field through its getter, by the
    general walk (``sections.build_section``): the rule the object reads of the fitted walk
    are held to (a property test). Never used to transform."""
    twin = replace(config, sections={}, unmapped={})
    for source in EVENT_SOURCES:
        for platform in (None, *PLATFORMS):
            twin.sections[(source, platform)] = _assembly(config, source, platform, fitted=False)
    return twin


def _with_items(build: Builder, build_item: Builder) -> Builder:
    """The properties section: its fields, then what the items add (``build_properties``)."""

    def build_all(node: Any, reading: EventWalk, _where: str) -> dict[str, Any]:
        return build_properties(node, reading, build, build_item)

    return build_all


def section_builders(
    config: Config, source: str, platform: str | None, *, fitted: bool = True
) -> list[tuple[str, Builder]]:
    """The builder of each section an assembly builds, in payload order (the items' builder
    inside the properties'); ``benchmarks/bench_transform.py --by-section`` times each."""
    steps = plan(source, platform)
    build_item = section_builder(steps["item"], config, fitted=fitted)
    builders: list[tuple[str, Builder]] = []
    for section, section_steps in steps.items():
        build = section_builder(section_steps, config, fitted=fitted)
        if section == "properties":
            builders.append((section, _with_items(build, build_item)))
        elif section != "item" and section_steps:
            builders.append((section, build))
    return builders


def _assembly(
    config: Config, source: str, platform: str | None, *, fitted: bool = True
) -> Assemble:
    """Each section built in turn and kept when not empty, in payload order (``event``'s keys
    go to ``data[0]`` itself); the custom user properties join the ``user`` section."""
    builders = section_builders(config, source, platform, fitted=fitted)
    custom_user = config.custom_user_properties

    def assemble(node: Any, reading: EventWalk, data: dict[str, Any]) -> None:
        for section, build in builders:
            built = build(node, reading, "")
            if section == "user" and custom_user:
                built.update(custom_section(custom_user, node, "custom_user_properties"))
            if section == "event":
                data.update(built)
            elif built:
                data[section] = built

    return assemble
