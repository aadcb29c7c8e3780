"""A worker's entries from reading to final outcome: transform, batch per request group, send.

Each entry is transformed with its own time (from its id) as the clock, so a redelivered event
keeps its ``event_time`` and derived ``event_id``. Payloads wait in one buffer per request
group (``batching``'s rule, as with ``send``), and go out when the buffer holds a request's
worth or its first entry has waited ``MAX_WAIT_S``. Entries with a final outcome are finished
(``finishing.py``); ``failed`` ones are released (left pending, their delivery not counted), to
be claimed and retried later; an entry delivered more than ``MAX_DELIVERIES`` times without a
final outcome (its worker died holding it each time) goes to the dead letters. An entry that
cannot be read or transformed is ``invalid`` on its own: its neighbours go on. Every final
outcome carries the event's id when it can name one (``event_ids``): the payload's once
transformed, else the event's own; an entry that is not JSON has none.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from tiktok_destination import destination
from tiktok_destination.delivery import batching
from tiktok_destination.delivery.batching import MAX_WAIT_S
from tiktok_destination.fleet.acknowledging import Final
from tiktok_destination.fleet.streams import EVENT_FIELD, Entry
from tiktok_destination.outcomes import SendOutcome
from tiktok_destination.transform.event_ids import own_event_id, payload_event_id
from tiktok_destination.transform.event_text import NotJson, parse_text

log = logging.getLogger("tiktok_destination")

MAX_DELIVERIES = 5
"""An entry whose worker died holding it this many times is dead on its next delivery."""

Send = Callable[[Sequence[Any]], list[SendOutcome]]
Finish = Callable[[list[Final]], int]
Release = Callable[[list[str]], int]
Count = Callable[[str, int], None]
Buffered = list[tuple[Entry, dict[str, Any]]]


class Batches:
    """The entries one worker holds: buffered per request group, or being sent."""

    def __init__(
        self,
        settings: dict[str, Any],
        batch_size: int,
        *,
        send: Send,
        finish: Finish,
        count: Count,
        release: Release | None = None,
        max_wait_s: float = MAX_WAIT_S,
    ) -> None:
        self.settings = settings
        self.batch_size = batch_size
        self._send = send
        self._finish = finish
        self._count = count
        self._release = release
        self.max_wait_s = max_wait_s
        self._groups: dict[Any, Buffered] = {}
        self._since: dict[Any, float] = {}
        self._held: dict[str, int] = {}
        """The entries buffered or being sent: id and size in bytes."""
        self._held_bytes = 0
        self._lock = threading.Lock()

    def held(self) -> list[str]:
        """Ids of the entries buffered or being sent (safe to call from another thread)."""
        with self._lock:
            return list(self._held)

    def held_bytes(self) -> int:
        """Bytes of the entries buffered or being sent, as Redis gave them."""
        with self._lock:
            return self._held_bytes

    def take(self, entries: list[Entry]) -> None:
        """Transform ``entries``, finish those that end here, send the groups that are full."""
        finals: list[Final] = []
        full = []
        for entry in entries:
            if entry.id in self._held:
                continue
            if entry.deliveries > MAX_DELIVERIES:
                message = (
                    f"no final outcome after {entry.deliveries - 1} deliveries (the worker "
                    "holding it died each time)"
                )
                event_id = _own_id(_parsed(entry))
                finals.append(Final(entry.id, "dead", message, event_id, event=entry.event))
                continue
            event = _parsed(entry)
            outcome = self._transform(entry, event)
            if outcome["status"] != "ok":
                why = outcome.get("reason") or outcome.get("error") or ""
                event_id = _own_id(event)
                finals.append(Final(entry.id, outcome["status"], why, event_id, event=entry.event))
                continue
            payload = outcome["payload"]
            key = batching.group_key(payload)
            group = self._groups.setdefault(key, [])
            if not group:
                self._since[key] = time.monotonic()
            with self._lock:
                self._held[entry.id] = entry.size
                self._held_bytes += entry.size
            group.append((entry, payload))
            if len(group) >= batching.request_size(key, self.batch_size):
                full.append(key)
        self._record(finals)
        self._flush(full)

    def waiting_s(self) -> float | None:
        """Seconds until the oldest buffer is due, ``None`` when nothing is buffered."""
        if not self._since:
            return None
        return max(0.0, min(self._since.values()) + self.max_wait_s - time.monotonic())

    def flush_due(self) -> None:
        now = time.monotonic()
        self._flush([key for key, since in self._since.items() if now - since >= self.max_wait_s])

    def flush_all(self) -> None:
        self._flush(list(self._groups))

    def _transform(self, entry: Entry, event: Any) -> dict[str, Any]:
        """The transform outcome of ``entry``, whose event ``_parsed`` read as ``event``."""
        if entry.problem is not None:
            return {"status": "invalid", "error": entry.problem}
        if entry.event is None:
            return {"status": "invalid", "error": f"entry: no {EVENT_FIELD!r} field"}
        if isinstance(event, NotJson):
            return {"status": "invalid", "error": f"event: {event.message}"}
        try:
            outcome: dict[str, Any] = destination.transform_event(event, self.settings, entry.time)  # type: ignore[assignment]
        except Exception as error:  # a bug must cost this entry, never its neighbours
            log.exception("entry %s could not be transformed", entry.id)
            return {
                "status": "invalid",
                "error": f"event: not transformed ({type(error).__name__})",
            }
        return outcome

    def _flush(self, keys: list[Any]) -> None:
        """Send these groups in one go (the deliverer may run their requests side by side)."""
        group: Buffered = []
        for key in keys:
            self._since.pop(key, None)
            group += self._groups.pop(key, [])
        if not group:
            return
        outcomes = self._send([payload for _entry, payload in group])
        finals = []
        failed: list[str] = []
        for (entry, payload), outcome in zip(group, outcomes, strict=True):
            if outcome["status"] == "failed":
                if not failed:
                    log.warning("not delivered, left pending: %s", outcome["message"])
                failed.append(entry.id)
                continue
            finals.append(
                Final(
                    entry.id,
                    outcome["status"],
                    outcome["message"],
                    payload_event_id(payload),
                    outcome["code"],
                    entry.event if outcome["status"] == "rejected" else None,
                )
            )
        if failed:
            self._count("failed", len(failed))
            log.warning("%d entries not delivered, left pending to be claimed again", len(failed))
        self._record(finals)
        if failed and self._release is not None:
            self._release(failed)
        with self._lock:
            for entry, _payload in group:
                self._held_bytes -= self._held.pop(entry.id, 0)

    def _record(self, finals: list[Final]) -> None:
        if not finals:
            return
        self._finish(finals)
        for final in finals:
            self._count(final.status, 1)


def _parsed(entry: Entry) -> Any:
    """The event of ``entry``, or ``NotJson`` when it has none that can be read."""
    if entry.problem is not None or entry.event is None:
        return NotJson(entry.problem or f"no {EVENT_FIELD!r} field")
    return parse_text(entry.event)


def _own_id(event: Any) -> str | None:
    """The event's own id as outcomes record it (a text), ``None`` when it names none."""
    if isinstance(event, NotJson):
        return None
    value = own_event_id(event)
    return None if value is None else str(value)
