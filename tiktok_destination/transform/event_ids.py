"""The event id an outcome is recorded under: the payload's, else the event's own.

``send``, ``transform`` and the fleet record an id with every outcome they can name, so a
user can tell which events to send again; they all take it from here.
"""

from __future__ import annotations

from typing import Any

MAX_ID_LENGTH = 256
"""Longer ids are not copied into outcomes."""


def outcome_event_id(event: Any, outcome: dict[str, Any]) -> str | int | None:
    """The id a transform outcome of ``event`` is recorded under: its payload's when ``ok``,
    else the event's own."""
    if outcome["status"] == "ok":
        return payload_event_id(outcome["payload"])
    return own_event_id(event)


def payload_event_id(payload: dict[str, Any]) -> str | None:
    """The ``event_id`` of a payload the transform made (always a string there)."""
    value = payload["data"][0].get("event_id")
    return value if isinstance(value, str) else None


def own_event_id(event: Any) -> str | int | None:
    """The event's own id (``id``, else ``context.event_id``) when it has a usable one."""
    if not isinstance(event, dict):
        return None
    for holder, key in ((event, "id"), (event.get("context"), "event_id")):
        value = holder.get(key) if isinstance(holder, dict) else None
        if isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH:
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None
