"""``tiktok-destination send``: transform events as they are read and deliver them in batches.

Events wait in one buffer per request group (source, source id, test code) and go out when a
buffer is full or its first event has waited ``MAX_WAIT_S`` (a quiet stream on stdin still
delivers), so memory stays flat. Up to ``max_concurrent_requests`` buffers are being sent at
once (the reading goes on meanwhile); their outcomes are recorded in the order they were sent.
Every event gets one outcome record in ``--outcomes`` as soon as it is known, and each event
posted gets a ``sending`` record before the post (``outcome_log``). SIGINT and SIGTERM stop
cleanly (``signals``): what was not sent is recorded ``failed``. With ``--resume`` the lines an
earlier run finished are passed over (``resume``).

Words: an *input line* is one numbered event read (``InputLine``, ``lines``); a *record* is one
outcome written to ``--outcomes`` (``record``, ``records``).
"""

from __future__ import annotations

import json
import queue
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from functools import partial
from typing import IO, Any, cast

from tiktok_destination import batching, signals, state
from tiktok_destination.facts import NAME
from tiktok_destination.in_flight import Workers
from tiktok_destination.outcome_log import (
    SENDING,
    SENDING_MESSAGE,
    OutcomeLog,
    OutcomesNotWritten,
    record,
)
from tiktok_destination.progress import Progress
from tiktok_destination.records import NotJson, own_event_id
from tiktok_destination.records import Record as InputLine
from tiktok_destination.resume import Finished

Pending = list[tuple[int, dict[str, Any]]]
MAX_WAIT_S = 2.0
"""Longest an event waits in a buffer that is not full."""
TICK = object()
"""Stands in the stream of input lines when no line came for a while."""
STATUSES = ("ok", "skipped", "invalid", "delivered", "rejected", "failed")
INTERRUPTED_BEFORE = "interrupted before sending: not delivered"
INTERRUPTED_DURING = (
    "interrupted while sending: TikTok may or may not have it; sending it again is safe "
    "(TikTok deduplicates by event_id)"
)
DRY_RUN = "dry run: not sent"


def with_ticks(lines: Iterable[InputLine], every_s: float) -> Iterator[InputLine | object]:
    """``lines`` as they come, read in a thread, and ``TICK`` when none came for ``every_s``."""
    arrived: queue.SimpleQueue[Any] = queue.SimpleQueue()
    done = object()

    def pump() -> None:
        signals.block_in_this_thread()
        try:
            for item in lines:
                arrived.put(item)
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
        outcomes: OutcomeLog | None = None,
        dry_run: bool = False,
        finished: Finished | None = None,
        out: IO[str] | None = None,
        err: IO[str] | None = None,
    ) -> None:
        self.hook = hook
        self.settings = settings
        self.config = state.config_for(settings)
        self.outcomes = outcomes
        self.dry_run = dry_run
        self.finished = Finished() if finished is None else finished
        self.out = sys.stdout if out is None else out
        self.err = sys.stderr if err is None else err
        self.groups: dict[tuple[Any, ...], Pending] = {}
        self.since: dict[tuple[Any, ...], float] = {}
        """When each buffered group got its first event."""
        self.in_flight: deque[tuple[Pending, Future[list[dict[str, Any]]]]] = deque()
        """Buffers being sent, oldest first, each with its coming outcomes."""
        self.window = self.config.delivery.max_concurrent_requests
        self._workers: Workers | None = None
        self.counts: Counter[str] = Counter()
        self.read = 0
        self.resumed = 0
        self.requests = 0
        self.stopped_by: KeyboardInterrupt | None = None
        self.not_written: OutcomesNotWritten | None = None
        self.position: Callable[[], int] = lambda: 0
        """Bytes of input read so far (for the progress bar)."""
        self._progress: Progress | None = None

    def run(self, lines: Iterable[InputLine | object], total_bytes: int | None = None) -> bool:
        """Process every input line (``TICK``s included); ``False`` when stopped before the end."""
        if self.config.test_event_code:
            print(
                "warning: test_event_code is set: TikTok shows these events in Test Events "
                "and does not save them",
                file=self.err,
            )
        self._progress = Progress(self.err, total_bytes)
        self._workers = None if self.dry_run else Workers(self.window, "send")
        try:
            for item in lines:
                if item is not TICK:
                    line, event = cast(InputLine, item)
                    self._take(line, event)
                self._flush_waiting()
                self._collect()
            for key in list(self.groups):
                self._flush(key)
            self._collect(everything=True)
        except KeyboardInterrupt as stop:
            self.stopped_by = stop
            self._interrupted()
        except OutcomesNotWritten as error:
            self.not_written = error
            print(f"tiktok-destination: {error}; stopped", file=self.err)
        finally:
            self._progress.close()
            if self._workers is not None:
                self._workers.close()
        self._summary()
        return self.stopped_by is None and self.not_written is None

    def final_counts(self) -> Counter[str]:
        """Outcomes of this run and, with ``--resume``, of the lines finished before."""
        return self.counts + self.finished.counts()

    def _write(self, records: list[dict[str, Any]]) -> None:
        for entry in records:
            if entry["status"] not in (SENDING, "ok"):  # "ok" is counted when transformed
                self.counts[entry["status"]] += 1
        if self.outcomes is not None:
            self.outcomes.write(records)

    def _take(self, line: int, event: Any) -> None:
        with signals.held():
            full = self._take_one(line, event)
        if full is not None:
            self._flush(full)
        if self._progress is not None:
            self._progress.show(self.position(), self.counts, self.read)

    def _take_one(self, line: int, event: Any) -> tuple[Any, ...] | None:
        """Transform and buffer one event; the key of its group when that group is full."""
        if self.finished.status(line) is not None:
            self.resumed += 1
            return None
        self.read += 1
        if isinstance(event, NotJson):
            self._write([record(line, None, "invalid", event.message)])
            return None
        outcome = self.hook.cdp_destination_transform(
            destination=NAME, event=event, settings=self.settings
        )
        if outcome["status"] != "ok":
            message = outcome.get("reason") or outcome["error"]
            self._write([record(line, own_event_id(event), outcome["status"], message)])
            return None
        self.counts["ok"] += 1
        payload = outcome["payload"]
        key = batching.group_key(payload)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = []
            self.since[key] = time.monotonic()
        group.append((line, payload))
        size = batching.request_size(key, self.config.delivery.batch_size)
        return key if len(group) >= size else None

    def _flush_waiting(self) -> None:
        """Send the groups whose first event has waited ``MAX_WAIT_S``."""
        if self.since:
            now = time.monotonic()
            for key, since in list(self.since.items()):
                if now - since >= MAX_WAIT_S:
                    self._flush(key)

    def _flush(self, key: tuple[Any, ...]) -> None:
        with signals.held():
            del self.since[key]
            batch = self.groups.pop(key)
            if self.dry_run:
                self._plan(batch)
                return
            self._write([record(n, _event_id(p), SENDING, SENDING_MESSAGE) for n, p in batch])
            assert self._workers is not None
            self.in_flight.append((batch, self._workers.submit(partial(self._send, batch))))
        self._collect()

    def _send(self, batch: Pending) -> list[dict[str, Any]]:
        """The send hook for one buffer (on a worker thread)."""
        outcomes: list[dict[str, Any]] = self.hook.cdp_destination_send(
            destination=NAME,
            payloads=[payload for _line, payload in batch],
            settings=self.settings,
        )
        return outcomes

    def _collect(self, *, everything: bool = False) -> None:
        """Record the outcomes of the buffers sent, oldest first: those already known, and
        the oldest ones' when ``window`` buffers are in flight (or ``everything``)."""
        while self.in_flight:
            batch, job = self.in_flight[0]
            if not (everything or job.done() or len(self.in_flight) >= self.window):
                return
            outcomes = job.result()
            with signals.held():
                self.in_flight.popleft()
                self._write(
                    [
                        record(
                            line,
                            _event_id(payload),
                            outcome["status"],
                            outcome["message"],
                            outcome["code"],
                            outcome["request_id"],
                        )
                        for (line, payload), outcome in zip(batch, outcomes, strict=True)
                    ]
                )

    def _plan(self, batch: Pending) -> None:
        """Dry run: print the requests; an event no request can carry is ``rejected``."""
        sendable, records = [], []
        for line, payload in batch:
            try:
                json.dumps(payload, ensure_ascii=False, allow_nan=False).encode("utf-8")
            except (TypeError, ValueError, RecursionError) as error:
                why = f"not valid JSON ({type(error).__name__})"
                records.append(record(line, _event_id(payload), "rejected", why))
            else:
                sendable.append(payload)
                records.append(record(line, _event_id(payload), "ok", DRY_RUN))
        with state.deliverer_for(self.settings) as deliverer:
            shown = deliverer.shown_requests(sendable)
        for request in shown:
            self.requests += 1
            self.out.write(json.dumps(request, ensure_ascii=False) + "\n")
        self._write(records)

    def _interrupted(self) -> None:
        sent = []
        for batch, job in self.in_flight:
            why = INTERRUPTED_BEFORE if job.cancel() else INTERRUPTED_DURING  # posted or not
            sent += [record(n, _event_id(p), "failed", why) for n, p in batch]
        try:
            self._write(
                sent
                + [
                    record(n, _event_id(p), "failed", INTERRUPTED_BEFORE)
                    for group in self.groups.values()
                    for n, p in group
                ]
            )
        except OutcomesNotWritten as error:
            print(f"tiktok-destination: {error}", file=self.err)
        self.in_flight, self.groups, self.since = deque(), {}, {}
        print("interrupted: the events not sent are recorded as failed", file=self.err)

    def _summary(self) -> None:
        counts = ", ".join(f"{status} {self.counts[status]}" for status in STATUSES)
        extra = f", {self.requests} requests planned (dry run)" if self.dry_run else ""
        if self.resumed:
            extra += f"; {self.resumed} lines finished by an earlier run, passed over"
        print(f"read {self.read}: {counts}{extra}", file=self.err)
