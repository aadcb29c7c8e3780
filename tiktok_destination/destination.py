"""What each hook does, behind the thin hook functions: caches, the clock, safety nets.

Settings are compiled once per settings object (``settings.config_for``) and each compiled
``Config`` gets one ``Deliverer`` (one HTTP session), kept as long as the config is alive.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Sequence
from typing import Any

from tiktok_destination import resources
from tiktok_destination import settings as settings_module
from tiktok_destination.delivery import Deliverer, DeliveryConfig
from tiktok_destination.outcomes import SendOutcome, TransformOutcome, invalid, send_outcome
from tiktok_destination.settings import Config, SettingsError, config_for
from tiktok_destination.transform import transform

NAME = "tiktok"
log = logging.getLogger("tiktok_destination")
_deliverers: weakref.WeakKeyDictionary[Config, Deliverer] = weakref.WeakKeyDictionary()


def manifest() -> dict[str, Any]:
    """``plugin.json`` with its ``settings_schema`` reference replaced by the schema itself."""
    document: dict[str, Any] = resources.load_json("plugin.json")
    document["settings_schema"] = resources.load_json(document["settings_schema"])
    return document


def validate_settings(settings: Any) -> list[str]:
    return settings_module.validate(settings)


def transform_event(event: Any, settings: Any, now: float | None = None) -> TransformOutcome:
    """The transform outcome for one event; settings problems make the event ``invalid``."""
    try:
        config = config_for(settings)
    except SettingsError as error:
        return invalid("settings: " + "; ".join(error.problems))
    try:
        return transform(event, config, time.time() if now is None else now)
    except Exception as error:  # the host must never see an exception from a hook
        log.exception("transform failed unexpectedly")
        return invalid(f"event: could not be transformed ({type(error).__name__})")


def delivery_config(config: Config) -> DeliveryConfig:
    return DeliveryConfig(
        access_token=config.access_token,
        api_url=config.api_url,
        batch_size=config.batch_size,
        timeout_s=config.timeout_s,
        max_retries=config.max_retries,
    )


def deliverer_for(config: Config) -> Deliverer:
    """The one ``Deliverer`` (and HTTP session) of a compiled config."""
    deliverer = _deliverers.get(config)
    if deliverer is None:
        deliverer = _deliverers[config] = Deliverer(delivery_config(config))
    return deliverer


def send_payloads(payloads: Sequence[Any], settings: Any) -> list[SendOutcome]:
    """One delivery outcome per payload, in order; bad settings fail every payload."""
    try:
        config = config_for(settings)
    except SettingsError as error:
        message = "settings: " + "; ".join(error.problems)
        return [send_outcome("failed", message) for _ in payloads]
    try:
        return deliverer_for(config).send(payloads)
    except Exception as error:  # a bug must not lose events: each one still gets an outcome
        log.error("send failed unexpectedly (%s)", type(error).__name__)
        message = f"not sent: unexpected {type(error).__name__} in the destination"
        return [send_outcome("failed", message) for _ in payloads]
