"""The host contract: the hooks a CDP host calls on a destination plugin (pluggy project "cdp").

A host loads destinations with::

    pm = pluggy.PluginManager("cdp")
    pm.add_hookspecs(tiktok_destination.hookspecs)
    pm.load_setuptools_entrypoints("cdp.destinations")

and calls every hook with keyword arguments. Outcomes are plain JSON-compatible dicts.
"""

from __future__ import annotations

from typing import Any

import pluggy

PROJECT = "cdp"
ENTRY_POINT_GROUP = "cdp.destinations"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def cdp_destination_manifest() -> dict[str, Any]:  # type: ignore[empty-body]
    """Describe the destination: the parsed ``plugin.json`` with ``settings_schema`` resolved.

    Every destination answers, so the host gets one manifest per destination.

    :return: ``name``, ``version``, ``description``, ``hooks``, ``capabilities``,
        ``settings_schema`` (the settings JSON Schema object, draft 2020-12) and ``ui_schema``
        (how to lay out its form, as a react-jsonschema-form uiSchema).
    """


@hookspec(firstresult=True)
def cdp_destination_validate_settings(
    destination: str, settings: dict[str, Any]
) -> list[str] | None:
    """Check settings for a destination before the host saves or uses them.

    Stops at first non-None result.

    :param destination: the destination's name; a plugin answers only for its own.
    :param settings: the settings object as the user entered it.
    :return: ``None`` when ``destination`` is not this plugin's; otherwise every problem found,
        each starting with the key it concerns (an empty list means valid).
    """


@hookspec(firstresult=True)
def cdp_destination_transform(
    destination: str, event: dict[str, Any], settings: dict[str, Any]
) -> dict[str, Any] | None:
    """Turn one standard event into the destination's request payload.

    Stops at first non-None result. Never raises for bad input or bad settings.

    :param destination: the destination's name; a plugin answers only for its own.
    :param event: one event in the standard format (``event_name``, ``context``, ``user``, ...).
    :param settings: the destination's settings.
    :return: ``None`` when ``destination`` is not this plugin's; otherwise one outcome:
        ``{"status": "ok", "payload": {...}}`` (optionally with ``"warnings"``),
        ``{"status": "skipped", "reason": str}`` or ``{"status": "invalid", "error": str}``.
    """


@hookspec(firstresult=True)
def cdp_destination_transform_batch(
    destination: str, events: list[dict[str, Any]], settings: dict[str, Any]
) -> list[dict[str, Any]] | None:
    """Turn a batch of standard events into payloads: ``cdp_destination_transform`` for each.

    Stops at first non-None result. Never raises for bad input or bad settings. A host with
    many events pays the hook call and the settings lookup once per batch, not once per event.

    :param destination: the destination's name; a plugin answers only for its own.
    :param events: a list of events in the standard format.
    :param settings: the destination's settings.
    :return: ``None`` when ``destination`` is not this plugin's; otherwise one outcome per
        event, in the same order, each what ``cdp_destination_transform`` gives for that event
        (``events`` that is not a list gets one ``invalid`` outcome saying so).
    """


@hookspec(firstresult=True)
def cdp_destination_send(
    destination: str, payloads: list[dict[str, Any]], settings: dict[str, Any]
) -> list[dict[str, Any]] | None:
    """Deliver payloads produced by ``cdp_destination_transform``.

    Stops at first non-None result. Payloads that share a source are batched into one request.

    :param destination: the destination's name; a plugin answers only for its own.
    :param payloads: ``ok`` payloads from the transform hook.
    :param settings: the destination's settings.
    :return: ``None`` when ``destination`` is not this plugin's; otherwise one outcome per
        payload, in the same order: ``{"status": "delivered" | "rejected" | "failed",
        "code": int | None, "message": str, "request_id": str | None}``. ``rejected``: TikTok
        refused the event and retrying cannot help; ``failed``: not delivered, may be retried.
    """
