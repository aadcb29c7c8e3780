"""Settings: validate them (every problem at once, by key), fill defaults, make a ``Config``.

``make_config`` turns valid settings into a ``Config`` (with its ``DeliveryConfig``); the
hooks get theirs from ``state.config_for``, which makes one per distinct settings.
"""

from __future__ import annotations

import copy
import difflib
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, cast

from jsonschema import Draft202012Validator, ValidationError

from tiktok_destination import api_url, resources
from tiktok_destination.errors import SettingsError as SettingsError
from tiktok_destination.expressions import Getter, expression_problem, getter_for
from tiktok_destination.facts import EVENT_SOURCES, SOURCE_SETTING, scope_of
from tiktok_destination.fields import BUILTIN_KEYS, FIELDS
from tiktok_destination.quoting import kind, quote
from tiktok_destination.specs import SPECS, STANDARD, Spec

SCHEMA_FILE = "schemas/settings.schema.json"
SECRET_KEYS = frozenset({"access_token"})
TOKEN_ENV = "TIKTOK_ACCESS_TOKEN"
_LONG_ENUM = 8  # longer enums are not listed in messages


@cache
def schema() -> dict[str, Any]:
    """The settings JSON Schema (draft 2020-12)."""
    loaded: dict[str, Any] = resources.load_json(SCHEMA_FILE)
    return loaded


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(schema())


def defaults() -> dict[str, Any]:
    """Every setting that has a default, with it."""
    return {
        key: copy.deepcopy(spec["default"])
        for key, spec in schema()["properties"].items()
        if "default" in spec
    }


def _where(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "settings"


def _suggest(name: str, known: Any) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _one_of(names: list[str]) -> str:
    return ", ".join(names[:-1]) + " or " + names[-1]


def _describe(error: ValidationError) -> list[str]:
    """One message per problem, starting with its key; never the token, never a whole object."""
    where = _where(error.absolute_path)
    rule = cast(Mapping[str, Any], error.schema)
    value: Any = error.validator_value
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = rule.get("properties", {})
        what = "field" if list(error.absolute_path) == ["smart_mapping"] else "key"
        return [
            f"{_where([*error.absolute_path, key])}: unknown {what}{_suggest(key, known)}"
            for key in error.instance
            if key not in known
        ]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        return [f"{_where([*error.absolute_path, missing])}: required"]
    if error.validator == "anyOf" and all(set(branch) == {"required"} for branch in value):
        names = [name for branch in value for name in branch["required"]]
        return [f"{names[0]}: one of {_one_of(names)} is required"]
    if error.validator == "oneOf" and any(map(expression_problem, _texts(error.instance))):
        return []  # said by _expression_problems, which also reads inside templates
    if error.validator == "oneOf":
        return [
            f"{where}: must be a property path, a {{{{path}}}} template, "
            '{"value": text, number or true/false} or a list of these'
        ]
    if error.validator == "enum" and len(value) > _LONG_ENUM:
        known = [str(item) for item in value]
        hint = _suggest(str(error.instance).upper(), known) or _suggest(str(error.instance), known)
        return [f"{where}: {error.instance!r} is not one of the {len(known)} known values{hint}"]
    if any(part in SECRET_KEYS for part in error.absolute_path):
        return [f"{where}: must be a non-empty string"]
    if not error.absolute_path:  # the message would echo the whole settings, token included
        return [f"settings: do not match the schema's {error.validator!r} rule"]
    if error.validator == "type":  # in JSON's words: "got null", not "None is not of type"
        expected = " or ".join(_TYPE_WORDS.get(name, name) for name in _names(value))
        return [f"{where}: expected {expected}, got {quote(error.instance)}"]
    return [f"{where}: {error.message}"]


_TYPE_WORDS = {
    "integer": "a whole number",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "object": "an object",
    "array": "a list",
}


def _names(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(name) for name in value]


def _expressions(settings: Mapping[str, Any]) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every source expression of the settings, with where it is."""
    smart = settings.get("smart_mapping")
    if isinstance(smart, Mapping):
        yield from ((("smart_mapping", name), value) for name, value in smart.items())
    for setting in ("custom_event_properties", "custom_user_properties"):
        rows = settings.get(setting)
        for index, row in enumerate(rows if isinstance(rows, list) else []):
            if isinstance(row, Mapping) and "value" in row:
                yield (setting, index, "value"), row["value"]


def _texts(expression: Any) -> Iterator[str]:
    """The texts of an expression (itself, or those of a fallback list)."""
    if isinstance(expression, str):
        yield expression
    elif isinstance(expression, list):
        for part in expression:
            yield from _texts(part)


def _expression_problems(settings: Mapping[str, Any]) -> list[str]:
    """Texts of source expressions that are neither a path nor a template of paths (the paths
    inside a template too, which the schema's pattern cannot see), each named by where it is."""
    problems = []
    stack = list(_expressions(settings))
    while stack:
        path, value = stack.pop()
        if isinstance(value, list):
            stack.extend(((*path, index), part) for index, part in enumerate(value))
        elif isinstance(value, str) and (problem := expression_problem(value)) is not None:
            problems.append(f"{_where(path)}: {problem}")
    return sorted(problems)


def _cross_field_problems(settings: Mapping[str, Any]) -> list[str]:
    problems = _expression_problems(settings)
    url = settings.get("api_url")
    if isinstance(url, str):
        url_problem = api_url.problem(url)
        if url_problem is not None:
            problems.append(f"api_url: {url_problem}")
    seen: dict[tuple[str, str | None], int] = {}
    spec = SPECS.get(str(settings.get("event_spec")), STANDARD)
    for index, row in enumerate(settings.get("event_mapping") or []):
        if isinstance(row, dict) and isinstance(row.get("event"), str):
            key = (spec.key(row["event"]), row.get("event_source"))
            if key in seen:
                problems.append(
                    f"event_mapping[{index}]: maps {row['event']!r} again "
                    f"(already in event_mapping[{seen[key]}])"
                )
            seen.setdefault(key, index)
    for setting, section in (
        ("custom_event_properties", "properties"),
        ("custom_user_properties", "user"),
    ):
        for index, row in enumerate(settings.get(setting) or []):
            if isinstance(row, dict) and row.get("name") in BUILTIN_KEYS[section]:
                problems.append(
                    f"{setting}[{index}].name: {row['name']!r} is set by the destination itself; "
                    "change where it is read from with smart_mapping"
                )
    return problems


MAX_SETTINGS_NESTING = 32
"""Levels of objects and lists settings may have; deeper settings (or circular ones, which a
Python host can pass) are refused before the schema validator, which would recurse, reads them."""


MESSAGE_CHARS = 300
"""A problem's message is cut to this length (a huge value is never repeated whole)."""


def _nesting_problem(settings: Mapping[str, Any]) -> str | None:
    """Where settings are nested too deep (or are circular), else ``None``."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(settings, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, (Mapping, list)):
            if len(path) >= MAX_SETTINGS_NESTING:
                return f"{_where(path)}: nested more than {MAX_SETTINGS_NESTING} levels deep"
            children = node.items() if isinstance(node, Mapping) else enumerate(node)
            stack.extend((child, (*path, key)) for key, child in children)
    return None


def _non_finite_problems(node: Any, path: tuple[Any, ...] = ()) -> list[str]:
    """Numbers that are not finite (NaN, infinity): JSON has none, and no setting takes them."""
    if isinstance(node, float) and not math.isfinite(node):
        return [f"{_where(path)}: must be a finite number"]
    children = (
        node.items()
        if isinstance(node, Mapping)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    return [
        problem for key, child in children for problem in _non_finite_problems(child, (*path, key))
    ]


def _cut(message: str) -> str:
    return message if len(message) <= MESSAGE_CHARS else message[: MESSAGE_CHARS - 1] + "…"


def validate(settings: object) -> list[str]:
    """Every problem with ``settings``, each starting with its key; empty when they are valid."""
    if not isinstance(settings, Mapping):
        return [f"settings: expected an object, got {kind(settings)}"]
    too_deep = _nesting_problem(settings)
    if too_deep is not None:
        return [_cut(too_deep)]
    problems = [
        message
        for error in sorted(_validator().iter_errors(dict(settings)), key=lambda e: list(e.path))
        for message in _describe(error)
    ]
    return [
        _cut(problem)
        for problem in _non_finite_problems(settings) + problems + _cross_field_problems(settings)
    ]


DELIVERY_KEYS = ("api_url", "batch_size", "timeout_s", "max_retries", "max_concurrent_requests")
"""The settings delivery reads besides the token; their defaults and bounds are the schema's."""


def _delivery_default(key: str) -> Any:
    return schema()["properties"][key]["default"]


@dataclass(frozen=True)
class DeliveryConfig:
    """What delivery needs from the settings. Its repr never shows the token.

    Defaults and bounds are the settings schema's: a value the schema refuses raises
    ``ValueError`` naming the key (never showing the value of ``access_token``).
    """

    access_token: str = field(repr=False)
    api_url: str = _delivery_default("api_url")
    batch_size: int = _delivery_default("batch_size")
    timeout_s: float = _delivery_default("timeout_s")
    max_retries: int = _delivery_default("max_retries")
    max_concurrent_requests: int = _delivery_default("max_concurrent_requests")

    def __post_init__(self) -> None:
        if not isinstance(self.access_token, str):
            raise TypeError("access_token must be a string")
        values = {key: getattr(self, key) for key in DELIVERY_KEYS}
        problems = [
            message
            for error in _delivery_validator().iter_errors(values)
            for message in _describe(error)
        ] + _non_finite_problems(values)
        if problems:
            raise ValueError("; ".join(problems))
        # JSON Schema counts 1000.0 as an integer: keep the types this class promises.
        object.__setattr__(self, "batch_size", int(self.batch_size))
        object.__setattr__(self, "max_retries", int(self.max_retries))
        object.__setattr__(self, "max_concurrent_requests", int(self.max_concurrent_requests))
        object.__setattr__(self, "timeout_s", float(self.timeout_s))


@cache
def _delivery_validator() -> Draft202012Validator:
    properties = schema()["properties"]
    return Draft202012Validator(
        {"type": "object", "properties": {key: properties[key] for key in DELIVERY_KEYS}}
    )


@dataclass(frozen=True, eq=False)
class Config:
    """Settings made ready for the transform, with the delivery config. Its repr never shows the
    token.

    Compared and hashed by identity: equal settings share one (see ``state``).
    """

    source_ids: dict[str, str]
    test_event_code: str | None
    event_names: dict[str, dict[str, str]]
    """CDP event name -> TikTok event name, by event source."""
    fields: dict[str, Getter]
    custom_event_properties: tuple[tuple[str, Getter], ...]
    custom_user_properties: tuple[tuple[str, Getter], ...]
    autodiscover_event_source: bool
    lowercase_user_id: bool
    default_phone_region: str | None
    required_consent: tuple[str, ...]
    """Consent categories an event must grant, trimmed and lower-cased."""
    delivery: DeliveryConfig
    expressions: dict[str, Any] = field(default_factory=dict)
    """The source expression each of ``fields`` was read into a getter from."""
    spec: Spec = STANDARD
    """The ``event_spec`` setting: how events are named, where fields are read by default."""
    sections: dict[tuple[str, str | None], Any] = field(default_factory=dict, repr=False)
    """Filled on first use by ``assembly.assembler``: per ``(source, platform)`` (the platform
    reduced to ``ios``, ``android`` or ``None``: at most a dozen), the assembly of ``data[0]``;
    kept with the config (which ``state`` keeps), in no cache of their own."""
    unmapped: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)
    """Filled by ``transform``: why an event name of a source is skipped (a feed sends the same
    unmapped names again and again; their hint costs a fuzzy search)."""


_ROW_COLUMN = {"web": "web", "app": "app", "offline": "offline", "crm": "web"}
"""The column of the spec's event table each source reads."""


def _event_names(settings: Mapping[str, Any], spec: Spec) -> dict[str, dict[str, str]]:
    """The event-name table of each source (keyed by ``spec.key``): the spec's built-in table,
    then ``event_mapping`` rows from the least to the most specific (no source, then ``web`` for
    web, offline and crm, then the exact source), each overriding the ones before."""
    view_content = set(settings["view_content_events"])
    names: dict[str, dict[str, str]] = {}
    for source in EVENT_SOURCES:
        table = {
            spec.key(row.event): name
            for row in spec.events
            if (name := getattr(row, _ROW_COLUMN[source]))
            and (row.event not in spec.view_content_optional or row.event in view_content)
        }
        covering = (None, "web", source) if scope_of(source) == "web" else (None, source)
        for level in covering:
            for row in settings["event_mapping"]:
                if row.get("event_source") == level:
                    table[spec.key(row["event"])] = row["tiktok_event"]
        names[source] = table
    return names


def _custom(rows: list[dict[str, Any]], setting: str) -> tuple[tuple[str, Getter], ...]:
    return tuple(
        (row["name"], getter_for(row["value"], f"{setting}.{row['name']}")) for row in rows
    )


def make_config(settings: Mapping[str, Any]) -> Config:
    """Validate and make the ``Config``; raises ``SettingsError`` listing every problem."""
    problems = validate(settings)
    if problems:
        raise SettingsError(problems)
    full = {**defaults(), **settings}
    smart = full["smart_mapping"]
    spec = SPECS[full["event_spec"]]
    # A record the spec does not name keeps its own source: never a field without a getter.
    sources = {record.name: spec.sources.get(record.name, record.source) for record in FIELDS}
    expressions = {
        name: smart[name] if name in smart else list(source)
        for name, source in sources.items()
        if name in smart or source
    }
    fields = {name: getter_for(source, name) for name, source in expressions.items()}
    return Config(
        source_ids={
            source: full[setting] for source, setting in SOURCE_SETTING.items() if full.get(setting)
        },
        test_event_code=full.get("test_event_code"),
        event_names=_event_names(full, spec),
        fields=fields,
        custom_event_properties=_custom(full["custom_event_properties"], "custom_event_properties"),
        custom_user_properties=_custom(full["custom_user_properties"], "custom_user_properties"),
        autodiscover_event_source=full["autodiscover_event_source"],
        lowercase_user_id=full["lowercase_user_id"],
        default_phone_region=full.get("default_phone_region"),
        required_consent=tuple(
            dict.fromkeys(category.strip().lower() for category in full["required_consent"])
        ),
        delivery=DeliveryConfig(full["access_token"], **{key: full[key] for key in DELIVERY_KEYS}),
        expressions=expressions,
        spec=spec,
    )
