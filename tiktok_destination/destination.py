"""What each hook does, behind the thin hook functions: the clock and the safety nets.

Compiled settings and deliverers come from ``state`` (the process's one home for them). Nothing
raised below ever reaches the host: a bug still ends in one outcome per event, and what is logged
of it names the exception's class and code lines, never its message (which could quote settings).
"""

from __future__ import annotations

import gc
import logging
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from tiktok_destination import form, resources, state
from tiktok_destination import settings as settings_module
from tiktok_destination.delivery.deliverer import bug_message
from tiktok_destination.errors import SettingsError
from tiktok_destination.outcomes import SendOutcome, TransformOutcome, invalid, send_outcome
from tiktok_destination.quoting import kind
from tiktok_destination.settings import Config
from tiktok_destination.transform.event import transform

log = logging.getLogger("tiktok_destination")


def manifest() -> dict[str, Any]:
    """``plugin.json`` with its ``settings_schema`` reference replaced by the schema itself, and
    its form completed from the field records (``form.complete``)."""
    document: dict[str, Any] = resources.load_json("plugin.json")
    document["settings_schema"] = resources.load_json(document["settings_schema"])
    return form.complete(document)


def validate_settings(settings: Any) -> list[str]:
    return settings_module.validate(settings)


def _log_bug(what: str, error: BaseException) -> None:
    where = "".join(traceback.format_tb(error.__traceback__))
    log.error("%s failed unexpectedly (%s) at:\n%s", what, type(error).__name__, where)


def _transform_one(event: Any, config: Config, now: float) -> TransformOutcome:
    try:
        return transform(event, config, now)
    except Exception as error:  # the host must never see an exception from a hook
        _log_bug("transform", error)
        return invalid(f"event: could not be transformed ({type(error).__name__})")


def _settings_invalid(settings: Any) -> Config | TransformOutcome:
    """The compiled settings, or the ``invalid`` outcome their problems give every event."""
    try:
        return state.config_for(settings)
    except SettingsError as error:
        return invalid("settings: " + "; ".join(error.problems))
    except Exception as error:
        _log_bug("settings", error)
        return invalid(f"settings: could not be read ({type(error).__name__})")


def transform_event(event: Any, settings: Any, now: float | None = None) -> TransformOutcome:
    """The transform outcome for one event; settings problems make the event ``invalid``."""
    config = _settings_invalid(settings)
    if not isinstance(config, Config):
        return config
    return _transform_one(event, config, time.time() if now is None else now)


def transform_events(
    events: Any, settings: Any, now: float | None = None
) -> list[TransformOutcome]:
    """One transform outcome per event, in order: settings looked up and the clock read once.

    ``events`` that is not a list (or tuple) of events gets one ``invalid`` outcome saying so.
    """
    if not isinstance(events, (list, tuple)):
        return [invalid(f"events: expected a list of events, got {kind(events)}")]
    config = _settings_invalid(settings)
    if not isinstance(config, Config):
        return [config for _ in events]
    clock = time.time() if now is None else now
    with _collector_paused():
        return [_transform_one(event, config, clock) for event in events]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for a batch: the outcomes it keeps are acyclic,
    so a collection in between would only walk the host's live objects again (15 % of a batch's
    time). A collector the host had turned off stays off; cycles made meanwhile wait for the
    next collection after the batch."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def send_payloads(payloads: Sequence[Any], settings: Any) -> list[SendOutcome]:
    """One delivery outcome per payload, in order; bad settings fail every payload."""
    try:
        with state.deliverer_for(settings) as deliverer:
            return deliverer.send(payloads)
    except SettingsError as error:
        message = "settings: " + "; ".join(error.problems)
    except Exception as error:  # a bug must not lose events: each one still gets an outcome
        _log_bug("send", error)
        message = bug_message(error)
    try:
        count = len(payloads)
    except Exception:  # not a list: there is nothing to give outcomes to
        count = 0
    return [send_outcome("failed", message) for _ in range(count)]
