"""The payload sections, built by walking the field records of ``fields.FIELDS``.

For each record of a section that applies to the event (its scope and platform), the value is
read through its source's getter (``Config.fields``), then from the record's fallbacks while there
is none, and turned into what TikTok takes by its reader (``readers.READERS``) or hashed. A bad
value makes the event ``invalid`` (``FieldProblem``) or is left out with a warning, as the
record's ``on_bad`` says. That is the general walk (``walk_step``); ``section_builder`` reads the
plain fields of a path into one object straight from that object instead (``object_reads``),
with the same outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial
from typing import Any, NamedTuple

from tiktok_destination.errors import FieldProblem as FieldProblem
from tiktok_destination.expressions import Getter, is_empty, object_keys, path_getter
from tiktok_destination.facts import scope_of
from tiktok_destination.fields import (
    COOKIE_SOURCES,
    FIELDS,
    SECTIONS,
    Cookie,
    Field,
    Query,
    Section,
    section_fields,
)
from tiktok_destination.quoting import kind
from tiktok_destination.settings import Config
from tiktok_destination.transform import hashing
from tiktok_destination.transform.object_reads import Fields, Leaf, fitted_builder
from tiktok_destination.transform.readers import READERS, cookie_value, query_parameter, url_host
from tiktok_destination.transform.values import BadValue, to_json_value, to_string

_COOKIE_GETTERS = tuple(path_getter(path) for path in COOKIE_SOURCES)
_UNREAD = object()
_LEFT_OUT = object()
"""A bad value left out with a warning: no default takes its place."""


UserHasher = Callable[[Any, list[str]], "str | list[str] | None"]
"""A user field's value (one or a list) normalised and hashed, its warnings added to the list."""


def _unbound(_node: Any) -> Any:
    raise AssertionError("a step read before sections.bound gave it its settings' getter")


class _Step(NamedTuple):
    """One record, prepared for the walk: its reader looked up, its target key taken apart."""

    name: str
    key: str
    read: Callable[[Any], Any] | None
    """The reader; ``None``: the value is hashed."""
    plain: bool
    """Read (or hashed) alone, nothing to do when it is missing: the fast path."""
    record: Field
    left_out: str | None
    """The warning for a bad value left out; ``None``: a bad value makes the event invalid."""
    kept: bool
    """A ``Query`` fallback or ``default_from`` of another field reads the value it sends."""
    hash: UserHasher | None = None
    """How a hashed field's value is hashed under one settings object (``bound``)."""
    get: Getter = _unbound
    """The getter of the field's source under one settings object (``bound``)."""


_QUERIED = frozenset(
    name
    for record in FIELDS
    for name in (
        *(
            of
            for fallback in record.fallbacks
            if isinstance(fallback, Query)
            for of in (fallback.of, fallback.same_host_as)
        ),
        record.default_from,
    )
    if name is not None
)
"""Fields whose value another field's fallback or default reads: kept in ``EventWalk.values``."""


def _acts_when_missing(record: Field) -> bool:
    """Whether ``_finish`` does anything for a missing value of ``record``: fallbacks, a default,
    or the required check."""
    return bool(
        record.fallbacks
        or record.default is not None
        or record.default_from is not None
        or record.required is not None
    )


def reader_name(record: Field, platform: str | None) -> str:
    """The reader of ``record`` for events from ``platform`` (``Field.platform_reads``)."""
    for other, name in record.platform_reads:
        if other == platform:
            return name
    return record.read or "string"


def _step(record: Field, platform: str | None) -> _Step:
    assert record.target is not None
    kept = record.name in _QUERIED
    plain = not kept and not _acts_when_missing(record) and not record.also
    reader = READERS[reader_name(record, platform)]
    read = reader.read if record.hashing is None else None
    left_out = reader.left_out if record.on_bad == "warn" else None
    return _Step(record.name, record.target[1], read, plain, record, left_out, kept)


Steps = tuple[_Step, ...]


def section_builder(steps: Steps, config: Config, *, fitted: bool = True) -> Builder:
    """The builder of a section's keys under ``config`` (made once per settings object). Its
    plain fields are read straight from their objects (``object_reads``) when ``fitted``; the
    rest, or every field when not ``fitted`` (the rule a test holds the fitted reads to), by the
    general walk (``walk_step``)."""
    if not fitted:
        return partial(build_section, bound(steps, config))
    fields = Fields()
    for step in bound(steps, config):
        found = object_keys(config.expressions[step.name]) if step.plain else None
        if found is None:
            fields.walked(step)
            continue
        path, keys = found
        read = None if step.read is to_string else step.read
        key = keys[0] if len(keys) == 1 else keys
        fields.plain(path, Leaf(key, step.key, read, step.hash, step.name, step.left_out))
    return fitted_builder(fields, walk_step)


def bound(steps: Steps, config: Config) -> Steps:
    """``steps`` for ``config``: each field with the getter of its source, and each hashed one
    with its hasher, made once."""
    return tuple(
        step._replace(
            get=config.fields[step.name],
            hash=None if step.read is not None else user_hasher(step.record, config),
        )
        for step in steps
    )


Plan = dict[Section, Steps]
"""The steps of each section the walk builds, for events of one source and device platform."""


def applies(record: Field, source: str, platform: str | None) -> bool:
    """Whether ``record`` is read for events of ``source`` from ``platform``."""
    scope = record.scope
    if scope != "all" and scope != source and scope != scope_of(source):
        return False
    return (
        record.platform is None
        or record.platform == platform
        or any(other == platform for other, _reader in record.platform_reads)
    )


@cache
def plan(source: str, platform: str | None) -> Plan:
    """What the walk reads for events of this source and device platform, section by section."""
    return {
        section: tuple(
            _step(f, platform) for f in section_fields(section) if applies(f, source, platform)
        )
        for section in SECTIONS
    }


class EventWalk:
    """What one event's walk shares: its scope and platform, values read so far, warnings."""

    __slots__ = ("config", "cookies", "event", "platform", "source", "values", "warnings")

    def __init__(self, event: dict[str, Any], config: Config, source: str, warnings: list[str]):
        self.event = event
        self.config = config
        self.source = source
        self.platform: str | None = None
        """The device platform of app events (``ios``, ``android``), lower case."""
        self.warnings = warnings
        self.values: dict[str, Any] = {}
        """Field name -> the value sent, for the fields a fallback or a default reads."""
        self.cookies: Any = _UNREAD

    def cookie(self, name: str) -> str | None:
        if self.cookies is _UNREAD:
            self.cookies = None
            for get in _COOKIE_GETTERS:
                raw = get(self.event)
                if raw is not None:
                    self.cookies = raw
                    break
        return cookie_value(self.cookies, name)


Builder = Callable[[Any, EventWalk, str], dict[str, Any]]
"""A section built from a node (the event, or one item): ``build(node, reading, where)``."""


def _read(record: Field, raw: Any, reading: EventWalk, where: str) -> Any:
    """``raw`` as TikTok takes it (read or hashed), ``None``, or ``_LEFT_OUT`` with a warning."""
    try:
        if record.hashing is not None:
            return user_hasher(record, reading.config)(raw, reading.warnings)
        return READERS[record.read or "string"].read(raw)
    except BadValue as problem:
        if record.on_bad == "invalid":
            raise FieldProblem(f"{where}{record.name}: {problem}") from None
        template = READERS[record.read or "string"].left_out
        reading.warnings.append(template.format(where=where + record.name, problem=problem))
        return _LEFT_OUT


def read_field(record: Field, node: Any, reading: EventWalk, where: str = "") -> Any:
    """The value of ``record`` in ``node`` as TikTok takes it (its fallbacks tried), or ``None``
    (also when a bad value was left out with a warning)."""
    raw = reading.config.fields[record.name](node)
    value = None if raw is None else _read(record, raw, reading, where)
    if value is _LEFT_OUT:
        return None
    return _fallback(record, reading) if value is None else value


def _fallback(record: Field, reading: EventWalk) -> str | None:
    for fallback in record.fallbacks:
        if isinstance(fallback, Cookie):
            value = reading.cookie(fallback.name)
        else:
            value = query_parameter(reading.values.get(fallback.of), fallback.name)
            # The hosts are compared only when the parameter is there (parsing URLs is dear).
            if (
                value is not None
                and fallback.same_host_as is not None
                and url_host(reading.values.get(fallback.same_host_as))
                != url_host(reading.values.get(fallback.of))
            ):
                continue
        if value is not None:
            return value
    return None


def _default(record: Field, reading: EventWalk) -> str | None:
    if record.default_from is not None:
        value = reading.values.get(record.default_from)
        if value is not None:
            return str(value)
    return record.default


def build_section(steps: Steps, node: Any, reading: EventWalk, where: str = "") -> dict[str, Any]:
    """A section's keys read from ``node`` (the event, or one item) by the general walk; empty
    ones left out. ``steps`` are ``bound`` to the reading's settings."""
    built: dict[str, Any] = {}
    for step in steps:
        walk_step(step, node, built, reading, where)
    return built


def walk_step(
    step: _Step, node: Any, built: dict[str, Any], reading: EventWalk, where: str
) -> None:
    """One field of the general walk: read through its getter, read or hashed, then its
    fallbacks, default and required check when it is not plain (``_finish``)."""
    name, key, read, plain, record, left_out, kept, hash_value, get = step
    raw = get(node)
    if raw is not None:
        try:
            if read is not None:
                value = read(raw)
            else:
                assert hash_value is not None
                value = hash_value(raw, reading.warnings)
        except BadValue as problem:
            if left_out is None:
                raise FieldProblem(f"{where}{name}: {problem}") from None
            reading.warnings.append(left_out.format(where=where + name, problem=problem))
            return
        if plain:
            if value is not None:
                built[key] = value
            return
    elif plain:
        return
    else:
        value = None
    _finish(record, key, kept, value, built, reading, where)


def _finish(
    record: Field,
    key: str,
    kept: bool,
    value: Any,
    built: dict[str, Any],
    reading: EventWalk,
    where: str,
) -> None:
    """The walk after a step that is not plain has read ``value``: its fallbacks and default
    when there is none, the required check, then the key."""
    if value is None:
        value = (_fallback(record, reading) if record.fallbacks else None) or _default(
            record, reading
        )
        if value is None and record.required is not None:
            raise FieldProblem(f"{where}{record.name}: {record.required}")
    if value is not None:
        built[key] = value
        for other in record.also:
            built[other] = value
        if kept:
            reading.values[record.name] = value


def custom_value(value: Any, where: str) -> Any:
    """A custom property's value, when it is JSON TikTok can read."""
    try:
        return to_json_value(value)
    except BadValue as problem:
        raise FieldProblem(f"{where}: {problem}") from None


def custom_section(
    rows: tuple[tuple[str, Getter], ...], event: Any, setting: str
) -> dict[str, Any]:
    """The custom properties of ``setting`` read from ``event``."""
    found = {}
    for name, getter in rows:
        value = getter(event)
        if value is not None:
            found[name] = custom_value(value, f"{setting}.{name}")
    return found


def _hasher(kind: str, config: Config) -> Callable[[str], str | None]:
    if kind == "email":
        return hashing.hash_email
    if kind == "phone":
        return partial(hashing.hash_phone, default_region=config.default_phone_region)
    return partial(hashing.hash_external_id, lowercase=config.lowercase_user_id)


def user_hasher(record: Field, config: Config) -> UserHasher:
    """How ``record``'s values are hashed under ``config`` (made once per settings: ``bound``)."""
    hasher = _hasher(record.hashing or "", config)

    def hash_value(value: Any, warnings: list[str]) -> str | list[str] | None:
        if value.__class__ is str:  # the common case first: one text
            digest = hasher(value)
            if digest is not None or not value.strip() or record.hashing != "phone":
                return digest
        return hash_user_value(record, value, config, warnings, hasher)

    return hash_value


def hash_user_value(
    record: Field,
    value: Any,
    config: Config,
    warnings: list[str],
    hasher: Callable[[str], str | None],
) -> str | list[str] | None:
    """``value`` (one or a list) normalised and hashed as ``record.hashing`` says."""
    if not isinstance(value, list):
        return _hash_one(record, value, record.name, hasher, config, warnings)
    hashes = []
    for index, item in enumerate(value):
        digest = _hash_one(record, item, f"{record.name}[{index}]", hasher, config, warnings)
        if digest is not None:
            hashes.append(digest)
    return hashes or None


def _hash_one(
    record: Field,
    item: Any,
    where: str,
    hasher: Callable[[str], str | None],
    config: Config,
    warnings: list[str],
) -> str | None:
    """One value hashed; ``None`` when empty, or a phone number left out with a warning."""
    if is_empty(item):
        return None
    try:
        text = to_string(item)
    except BadValue:  # the value is personal data: name its type, never echo it
        raise FieldProblem(f"{where}: expected a string, got {kind(item)}") from None
    digest = hasher(text)
    if digest is None and record.hashing == "phone" and text.strip():
        region = config.default_phone_region
        problem = hashing.phone_problem(text, region)
        unread = problem.startswith("could not")
        hint = " (set default_phone_region for national numbers)" if unread and not region else ""
        warnings.append(f"{record.name}: left out a number that {problem}{hint}")
    return digest
