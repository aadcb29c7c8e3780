"""The entry point ``tiktok`` in group ``cdp.destinations``: the hook implementations, thin."""

from __future__ import annotations

from typing import Any, cast

from tiktok_destination import destination as impl
from tiktok_destination.facts import NAME
from tiktok_destination.hookspecs import hookimpl


@hookimpl
def cdp_destination_manifest() -> dict[str, Any]:
    return impl.manifest()


@hookimpl
def cdp_destination_validate_settings(
    destination: str, settings: dict[str, Any]
) -> list[str] | None:
    if destination != NAME:
        return None
    return impl.validate_settings(settings)


@hookimpl
def cdp_destination_transform(
    destination: str, event: dict[str, Any], settings: dict[str, Any]
) -> dict[str, Any] | None:
    if destination != NAME:
        return None
    return cast(dict[str, Any], impl.transform_event(event, settings))


@hookimpl
def cdp_destination_transform_batch(
    destination: str, events: list[dict[str, Any]], settings: dict[str, Any]
) -> list[dict[str, Any]] | None:
    if destination != NAME:
        return None
    return cast(list[dict[str, Any]], impl.transform_events(events, settings))


@hookimpl
def cdp_destination_send(
    destination: str, payloads: list[dict[str, Any]], settings: dict[str, Any]
) -> list[dict[str, Any]] | None:
    if destination != NAME:
        return None
    return cast(list[dict[str, Any]], impl.send_payloads(payloads, settings))
