"""``tiktok-destination send``: transform events as they are read and deliver them in batches.

Events wait in one buffer per request group (source, source id, test code) and go out when a
buffer is full or its first event has waited ``MAX_WAIT_S`` (a quiet stream on stdin still
delivers), so memory stays flat. Every event gets one outcome record in ``--outcomes``,
written as soon as it is known: ``{"line", "event_id", "status", "code", "message",
"request_id"}``. Ctrl-C stops cleanly: what was not sent is recorded as ``failed``.
"""

from __future__ import annotations

import json
import queue
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import IO, Any, cast

from tqdm import tqdm

from tiktok_destination import batching, state
from tiktok_destination.facts import NAME
from tiktok_destination.records import NotJson, Record

Pending = list[tuple[int, dict[str, Any]]]
MAX_WAIT_S = 2.0
"""Longest an event waits in a buffer that is not full."""
TICK = object()
"""Stands in the record stream when no record came for a while."""
STATUSES = ("ok", "skipped", "invalid", "delivered", "rejected", "failed")
INTERRUPTED_BEFORE = "interrupted before sending: not delivered"
INTERRUPTED_DURING = (
    "interrupted while sending: TikTok may or may not have it; sending it again is safe "
    "(TikTok deduplicates by event_id)"
)


@contextmanager
def _uninterrupted() -> Iterator[None]:
    """Hold Ctrl-C back while an outcome is recorded, so none is half written or lost."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def with_ticks(records: Iterable[Record], every_s: float) -> Iterator[Record | object]:
    """``records`` as they come, read in a thread, and ``TICK`` when none came for ``every_s``."""
    arrived: queue.SimpleQueue[Any] = queue.SimpleQueue()
    done = object()

    def pump() -> None:
        # Ctrl-C must reach the main thread only, which holds it back while recording.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            for record in records:
                arrived.put(record)
        except Exception as error:  # handed to the reading side, raised there
            arrived.put(error)
        finally:
            arrived.put(done)

    threading.Thread(target=pump, name="read-events", daemon=True).start()
    while True:
        try:
            item = arrived.get(timeout=every_s)
        except queue.Empty:
            yield TICK
            continue
        if item is done:
            return
        if isinstance(item, Exception):
            raise item
        yield item


def _event_id(payload: dict[str, Any]) -> Any:
    return payload["data"][0].get("event_id")


class SendRun:
    """One ``send`` command: read, transform, batch, deliver, record."""

    def __init__(
        self,
        hook: Any,
        settings: dict[str, Any],
        *,
        outcomes_path: str | None,
        dry_run: bool,
        out: IO[str] | None = None,
        err: IO[str] | None = None,
    ) -> None:
        self.hook = hook
        self.settings = settings
        self.config = state.config_for(settings)
        self.outcomes_path = outcomes_path
        self.dry_run = dry_run
        self.out = sys.stdout if out is None else out
        self.err = sys.stderr if err is None else err
        self.groups: dict[tuple[Any, ...], Pending] = {}
        self.since: dict[tuple[Any, ...], float] = {}
        """When each buffered group got its first event."""
        self.in_flight: Pending = []
        self.counts: Counter[str] = Counter()
        self.read = 0
        self.requests = 0
        self._records: IO[str] | None = None
        self._bar: tqdm[Any] | None = None

    def run(self, records: Iterable[Record | object]) -> bool:
        """Process every record (``TICK``s included); ``False`` when interrupted by Ctrl-C."""
        if self.config.test_event_code:
            print(
                "warning: test_event_code is set: TikTok shows these events in Test Events "
                "and does not save them",
                file=self.err,
            )
        with ExitStack() as stack:
            if self.outcomes_path:
                self._records = stack.enter_context(open(self.outcomes_path, "w", encoding="utf-8"))
            self._bar = stack.enter_context(
                tqdm(unit=" events", file=self.err, disable=not self.err.isatty(), leave=False)
            )
            finished = True
            try:
                for record in records:
                    if record is not TICK:
                        line, event = cast(Record, record)
                        self._take(line, event)
                    self._flush_waiting()
                for key in list(self.groups):
                    self._flush(key)
            except KeyboardInterrupt:
                self._interrupted()
                finished = False
        self._summary()
        return finished

    def all_done(self) -> bool:
        """Every event delivered (or, in a dry run, every event would be sent)."""
        not_sent = sum(
            self.counts[status] for status in ("skipped", "invalid", "rejected", "failed")
        )
        return not_sent == 0

    def _take(self, line: int, event: Any) -> None:
        with _uninterrupted():
            full = self._take_one(line, event)
        if full is not None:
            self._flush(full)

    def _take_one(self, line: int, event: Any) -> tuple[Any, ...] | None:
        """Transform and buffer one event; the key of its group when that group is full."""
        self.read += 1
        if self._bar is not None:
            self._bar.update()
        if isinstance(event, NotJson):
            self._record(line, None, "invalid", event.message)
            return None
        outcome = self.hook.cdp_destination_transform(
            destination=NAME, event=event, settings=self.settings
        )
        if outcome["status"] != "ok":
            self._record(line, None, outcome["status"], outcome.get("reason") or outcome["error"])
            return None
        self.counts["ok"] += 1
        payload = outcome["payload"]
        key = batching.group_key(payload)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = []
            self.since[key] = time.monotonic()
        group.append((line, payload))
        return (
            key
            if len(group) >= batching.request_size(key, self.config.delivery.batch_size)
            else None
        )

    def _flush_waiting(self) -> None:
        """Send the groups whose first event has waited ``MAX_WAIT_S``."""
        if self.since:
            now = time.monotonic()
            for key, since in list(self.since.items()):
                if now - since >= MAX_WAIT_S:
                    self._flush(key)

    def _flush(self, key: tuple[Any, ...]) -> None:
        del self.since[key]
        self.in_flight = self.groups.pop(key)
        payloads = [payload for _line, payload in self.in_flight]
        if self.dry_run:
            with state.deliverer_for(self.settings) as deliverer:
                shown = deliverer.shown_requests(payloads)
            for request in shown:
                self.requests += 1
                self.out.write(json.dumps(request, ensure_ascii=False) + "\n")
        else:
            outcomes = self.hook.cdp_destination_send(
                destination=NAME, payloads=payloads, settings=self.settings
            )
            with _uninterrupted():
                for (line, payload), outcome in zip(self.in_flight, outcomes, strict=True):
                    self._record(
                        line,
                        _event_id(payload),
                        outcome["status"],
                        outcome["message"],
                        outcome["code"],
                        outcome["request_id"],
                    )
                self.in_flight = []
                if self._records is not None:
                    self._records.flush()
        self.in_flight = []
        if self._bar is not None:
            counts = self.counts
            self._bar.set_postfix_str(
                f"delivered {counts['delivered']:,}, rejected {counts['rejected']:,}, "
                f"failed {counts['failed']:,}"
            )

    def _record(
        self,
        line: int,
        event_id: Any,
        status: str,
        message: str,
        code: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self.counts[status] += 1
        if self._records is not None:
            record = {
                "line": line,
                "event_id": event_id,
                "status": status,
                "code": code,
                "message": message,
                "request_id": request_id,
            }
            self._records.write(json.dumps(record, ensure_ascii=False) + "\n")

    def _interrupted(self) -> None:
        for line, payload in self.in_flight:
            self._record(line, _event_id(payload), "failed", INTERRUPTED_DURING)
        for group in self.groups.values():
            for line, payload in group:
                self._record(line, _event_id(payload), "failed", INTERRUPTED_BEFORE)
        self.in_flight, self.groups, self.since = [], {}, {}
        print("interrupted: the events not sent are recorded as failed", file=self.err)

    def _summary(self) -> None:
        counts = ", ".join(f"{status} {self.counts[status]}" for status in STATUSES)
        extra = f", {self.requests} requests planned (dry run)" if self.dry_run else ""
        print(f"read {self.read}: {counts}{extra}", file=self.err)
