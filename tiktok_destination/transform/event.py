"""One CDP event → one TikTok Events API 2.0 request body. Pure: no I/O, the clock is passed in.

``transform`` returns an outcome and never raises for bad input: an unmapped event is ``skipped``,
a value that cannot be sent makes the event ``invalid`` with a message naming the field.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from functools import cache
from typing import Any

from tiktok_destination.expressions import Getter, path_getter
from tiktok_destination.facts import (
    EVENT_MAX_AGE_S,
    EVENT_MAX_AHEAD_S,
    EVENT_SOURCES,
    SOURCE_SETTING,
    WEB_STANDARD_EVENTS,
    scope_of,
)
from tiktok_destination.fields import FIELD, PLATFORMS
from tiktok_destination.outcomes import TransformOutcome, invalid, ok, skipped
from tiktok_destination.quoting import kind, quote
from tiktok_destination.settings import Config
from tiktok_destination.specs import Call, Spec
from tiktok_destination.transform.assembly import assembler
from tiktok_destination.transform.canonical import canonical_json
from tiktok_destination.transform.sections import (
    EventWalk,
    FieldProblem,
    read_field,
)
from tiktok_destination.transform.values import BadValue, to_epoch_seconds, to_string


def event_source(event: dict[str, Any], config: Config, warnings: list[str]) -> str:
    """The event source (README, "Event names"): the field, then autodiscovery, then ``web``."""
    value = config.fields["event_source"](event)
    if value is not None:
        source = value.strip().lower() if isinstance(value, str) else None
        if source in EVENT_SOURCES:
            return source
        warnings.append(
            f"event_source: ignored {quote(value)}, not one of {', '.join(EVENT_SOURCES)}"
        )
    if config.autodiscover_event_source and _discovered_app(event, config):
        return "app"
    return "web"


def _discovered_app(event: dict[str, Any], config: Config) -> bool:
    """Autodiscovery as the spec says: an iOS or Android device platform, or (the standard spec)
    ``experience_type`` "native app" or a non-empty ``context.app``."""
    spec = config.spec
    if spec.app_platform_paths and any(
        platform_of(get(event)) for get in _getters(spec.app_platform_paths)
    ):
        return True
    if not spec.app_from_context_app:
        return False
    experience = config.fields.get("experience_type")
    kind = experience(event) if experience else None
    if isinstance(kind, str) and kind.strip().lower() == "native app":
        return True
    context = event.get("context")
    app = context.get("app") if isinstance(context, dict) else None
    return isinstance(app, dict) and bool(app)


@cache
def _getters(paths: tuple[str, ...]) -> tuple[Getter, ...]:
    return tuple(path_getter(path) for path in paths)


def derived_event_id(event: dict[str, Any]) -> str:
    """A stable id for an event that has none: the same event always gets the same id."""
    try:
        canonical = canonical_json(event)
    except (TypeError, ValueError, RecursionError):
        raise FieldProblem(
            "event_id: missing, and the event is not plain JSON to derive one from"
        ) from None
    return hashlib.sha256(canonical).hexdigest()[:32]


def event_time(event: dict[str, Any], config: Config, now: float, warnings: list[str]) -> int:
    """The event's time; a warning when TikTok will not attribute it, or a clock looks wrong."""
    timestamp = config.fields["event_timestamp"](event)
    try:
        event_time = int(now) if timestamp is None else to_epoch_seconds(timestamp)
    except BadValue as problem:
        raise FieldProblem(f"event_timestamp: {problem}") from None
    if event_time < now - EVENT_MAX_AGE_S:
        warnings.append(
            "event_timestamp: more than 28 days old, past TikTok's longest attribution window; "
            "sent with its own time"
        )
    elif event_time > now + EVENT_MAX_AHEAD_S:
        warnings.append(
            "event_timestamp: more than 5 minutes in the future; sent with its own time "
            "(check the clock of the event's source)"
        )
    return event_time


def event_id(event: dict[str, Any], config: Config, source: str, warnings: list[str]) -> str:
    given_id = config.fields["event_id"](event)
    try:
        if given_id is not None:
            return to_string(given_id)
    except BadValue as problem:
        raise FieldProblem(f"event_id: {problem}") from None
    if source == "web":
        warnings.append(
            "event_id: missing, so derived from the event; a web event with a derived id cannot "
            "deduplicate with the browser Pixel, which sends its own"
        )
    return derived_event_id(event)


def build_event(
    event: dict[str, Any],
    config: Config,
    source: str,
    tiktok_event: str,
    now: float,
    warnings: list[str],
) -> dict[str, Any]:
    """``data[0]``: the event itself, its sections built by walking the field records
    (``assembly.assembler``)."""
    data = {
        "event": tiktok_event,
        "event_time": event_time(event, config, now, warnings),
        "event_id": event_id(event, config, source, warnings),
    }
    reading = EventWalk(event, config, source, warnings)
    if scope_of(source) == "app":
        reading.platform = platform_of(read_field(FIELD["device_platform"], event, reading))
    assembler(config, source, reading.platform)(event, reading, data)
    return data


def platform_of(value: Any) -> str | None:
    """``ios``, ``android`` or ``None``: what an event's device platform is reduced to before
    anything is chosen or kept by it (an event's own text is never a key)."""
    if not isinstance(value, str):
        return None
    platform = value.strip().lower()
    return platform if platform in PLATFORMS else None


def consent_lacking(event: dict[str, Any], config: Config) -> list[str]:
    """The ``required_consent`` categories the event's ``consent_categories`` do not grant
    (compared trimmed and lower-cased; a list or a comma-separated string)."""
    if not config.required_consent:
        return []
    value = config.fields["consent_categories"](event)
    if isinstance(value, dict):  # {category: true / false}, as Segment's consent object
        value = [category for category, given in value.items() if given is True]
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    granted = {item.strip().lower() for item in items if isinstance(item, str)}
    return [category for category in config.required_consent if category not in granted]


def transform(event: Any, config: Config, now: float) -> TransformOutcome:
    """The outcome for one event: ``ok`` with its payload, ``skipped`` or ``invalid``."""
    if not isinstance(event, dict):
        return invalid(f"event: expected a JSON object, got {kind(event)}")
    name = event_name(event, config.spec)
    if not isinstance(name, str):
        return name
    lacking = consent_lacking(event, config)
    if lacking:
        return skipped(
            f"consent: the event does not grant {', '.join(lacking)} (required_consent); "
            "nothing was sent"
        )
    warnings: list[str] = []
    source = event_source(event, config, warnings)
    tiktok_event = config.event_names[source].get(config.spec.key(name))
    if tiktok_event is None:
        return skipped(_skip_reason(name, source, config))
    if source == "offline" and tiktok_event not in WEB_STANDARD_EVENTS:
        return invalid(
            f"event_mapping: offline events take TikTok's web standard events only, and "
            f"{tiktok_event!r} is not one; map {quote(name)} to a web standard event for offline"
        )
    source_id = config.source_ids.get(source)
    if source_id is None:
        return invalid(f"{SOURCE_SETTING[source]}: not set; it is needed to send {source} events")
    try:
        data = build_event(event, config, source, tiktok_event, now, warnings)
    except FieldProblem as problem:
        return invalid(str(problem))
    payload: dict[str, Any] = {"event_source": source, "event_source_id": source_id}
    if config.test_event_code:
        payload["test_event_code"] = config.test_event_code
    payload["data"] = [data]
    return ok(payload, warnings)


def _call(event: dict[str, Any], spec: Spec) -> Call | TransformOutcome:
    """What the event's call ``type`` makes it, in ``spec``; an ``invalid`` outcome for a type
    the spec does not know."""
    if not spec.calls or "type" not in event:
        return spec.untyped
    kind_of = event["type"]
    call = spec.calls.get(kind_of.strip().lower()) if isinstance(kind_of, str) else None
    if call is None:
        return invalid(f"type: expected {', '.join(spec.calls)}, got {quote(kind_of)}")
    return call


def event_name(event: dict[str, Any], spec: Spec) -> str | TransformOutcome:
    """The event's name as ``spec`` reads it, or the outcome of an event that has none to send:
    ``skipped`` for a call that carries no conversion, ``invalid`` for a missing name."""
    call = _call(event, spec)
    if not isinstance(call, Call):
        return call
    if call.skip is not None:
        return skipped(f"type {event['type'].strip().lower()}: {call.skip}")
    if call.name is not None:
        return call.name
    where = call.name_path or ""
    name = event.get(where)
    if not isinstance(name, str) or not name.strip():
        return invalid(f"{where}: missing, empty or not a string")
    return name


UNMAPPED_KEPT = 128
"""Skip reasons kept per settings, for names up to ``UNMAPPED_NAME_CHARS`` long."""
UNMAPPED_NAME_CHARS = 128


def _skip_reason(name: str, source: str, config: Config) -> str:
    """``_unmapped_reason``, worked out once per name and source for a settings object."""
    kept = config.unmapped
    reason = kept.get((name, source))
    if reason is None:
        reason = _unmapped_reason(name, source, config)
        if len(kept) < UNMAPPED_KEPT and len(name) <= UNMAPPED_NAME_CHARS:
            kept[(name, source)] = reason
    return reason


def _unmapped_reason(name: str, source: str, config: Config) -> str:
    """Why ``name`` is not sent for ``source``, and how to send it."""
    spec = config.spec
    app_events = config.event_names.get("app", {})
    if source != "app" and spec.key(name) in app_events and not config.autodiscover_event_source:
        return (
            f"{quote(name)} is an app event, but this event was read as {source}: app events are "
            f"recognised by {spec.app_hint}; to send it from {source}, map it in event_mapping"
        )
    if name in spec.view_content_optional:
        return (
            f"{name} is sent as ViewContent only when view_content_events lists it; "
            f"add {quote(name)} there or map it in event_mapping"
        )
    shown = json.dumps(name, ensure_ascii=False) if quote(name) == repr(name) else '"<name>"'
    known = sorted({*config.event_names.get(source, {}), *spec.view_content_optional})
    close = difflib.get_close_matches(name.strip().lower(), known, n=1, cutoff=0.75)
    hint = f" (did you mean {quote(close[0])}?)" if close and close[0] != name else ""
    return (
        f"no TikTok event for {quote(name)} on {source} events{hint}; to send it, add "
        f'{{"event": {shown}, "tiktok_event": "<TikTok event>", "event_source": "{source}"}} '
        "to event_mapping"
    )
