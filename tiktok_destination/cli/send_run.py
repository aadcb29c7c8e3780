"""``tiktok-destination send``: transform events as they are read and deliver them in batches.

Input lines come in chunks (``send_input``), each transformed with one call of the batch hook.
Events wait in one buffer per request group (source, source id, test code) and go out when a
buffer is full or its first event has waited ``batching.MAX_WAIT_S`` (a quiet stream on stdin still
delivers), so memory stays flat. A full buffer's requests are encoded here, on the reading
thread that made its payloads (``Deliverer.prepare``), and only their bytes go to the threads
that post (``Deliverer.deliver``, the same delivery as the send hook's). Up to
``max_concurrent_requests`` buffers are being sent at once (the reading goes on meanwhile);
their outcomes are recorded in the order they were sent.
Every event gets one outcome record in ``--outcomes`` as soon as it is known, and each event
posted gets a ``sending`` record before the post (``outcome_log``). SIGINT and SIGTERM stop
cleanly (``signals``): what was not sent is recorded ``failed``. With ``--resume`` the lines an
earlier run finished are passed over (``resume``) when they are still the lines it finished:
each record carries the ``line_hash`` of its input line.

Words: an *input line* is one numbered event read, with its ``line_hash`` when known
(``InputLine``, ``lines``); a *record* is one outcome written to ``--outcomes`` (``record``,
``records``).
"""

from __future__ import annotations

import gc
import json
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import ExitStack, contextmanager
from functools import partial
from typing import IO, Any

from tiktok_destination import signals, state
from tiktok_destination.cli.event_files import HashedLine, ParsedLine
from tiktok_destination.cli.outcome_log import (
    SENDING,
    SENDING_MESSAGE,
    OutcomeLog,
    OutcomesNotWritten,
    record,
    record_heads,
    record_lines,
    records_from_heads,
)
from tiktok_destination.cli.progress import Progress
from tiktok_destination.cli.reasons import most_frequent, reason
from tiktok_destination.cli.resume import CHANGED, Finished
from tiktok_destination.delivery import batching
from tiktok_destination.delivery.deliverer import Deliverer
from tiktok_destination.delivery.in_flight import Workers
from tiktok_destination.facts import NAME
from tiktok_destination.outcomes import SendOutcome
from tiktok_destination.transform.event_ids import own_event_id, payload_event_id
from tiktok_destination.transform.event_text import NotJson

InputLine = ParsedLine | HashedLine
"""``(line, event)`` or ``(line, event, line_hash)``: only the second can be resumed."""
Pending = list[tuple[int, "str | None", dict[str, Any]]]
"""Events buffered: input line, ``line_hash``, payload."""
Sent = str
"""An event posted, as its records start (``outcome_log.record_heads``): its input line, its
``event_id``, its ``line_hash``; made once for its ``sending`` record and its outcome's."""
YOUNG_COLLECTION_EVERY = 20_000
"""Allocations between two collections of the youngest objects during a run (Python's default
is 700). The buffers keep thousands of payloads alive, and every collection walks the objects
that survived the previous one: at the default that took ~13% of a run's CPU. The transform
makes no reference cycles, so memory does not grow for it."""
STATUSES = ("ok", "skipped", "invalid", "delivered", "rejected", "failed")
INTERRUPTED_BEFORE = "interrupted before sending: not delivered"
INTERRUPTED_DURING = (
    "interrupted while sending: TikTok may or may not have it; sending it again is safe "
    "(TikTok deduplicates by event_id)"
)
DRY_RUN = "dry run: not sent"
TOP_WARNINGS = 3
"""Warnings the summary names, most frequent first."""


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect garbage every ``YOUNG_COLLECTION_EVERY`` allocations in this block."""
    before = gc.get_threshold()
    gc.set_threshold(max(YOUNG_COLLECTION_EVERY, before[0]), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _sent(batch: Pending) -> list[Sent]:
    """How the records of each buffered event start (input line, ``event_id``, ``line_hash``)."""
    return record_heads(
        [(line, payload_event_id(payload), line_hash) for line, line_hash, payload in batch]
    )


class SendRun:
    """One ``send`` command: read, transform, batch, deliver, record.

    Outside ``signals.held()`` every event read is in exactly one place: its final outcome
    written, in a buffer filling (``groups``), in a full buffer waiting for its request
    (``ready``), or in a request (``in_flight``); a stop records the last three ``failed``.
    """

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
        self.sizes: dict[tuple[Any, ...], int] = {}
        """How many events a request of each group carries at most."""
        self.ready: deque[Pending] = deque()
        """Full buffers, oldest first, waiting for their request."""
        self.in_flight: deque[tuple[list[Sent], Future[list[SendOutcome]]]] = deque()
        """Buffers being sent, oldest first: what each event's records name and the coming
        outcomes."""
        self.window = self.config.delivery.max_concurrent_requests
        self._workers: Workers | None = None
        self._deliverer: Deliverer | None = None
        """The deliverer of ``settings``, held while the run sends."""
        self.counts: Counter[str] = Counter()
        self.read = 0
        self.resumed: Counter[str] = Counter()
        """Lines passed over (finished by an earlier run), by their finished status."""
        self.changed = 0
        """Lines an earlier run finished that are not the same lines any more: sent."""
        self.requests = 0
        self.warned = 0
        """Events sent (or to be sent) with at least one warning."""
        self.warnings: Counter[str] = Counter()
        """Warnings of the events sent, by reason."""
        self.refused: str | None = None
        """Why TikTok refused the configuration (what to fix), when it did."""
        self.stopped_by: KeyboardInterrupt | None = None
        self.not_written: OutcomesNotWritten | None = None
        self.position: Callable[[], int] = lambda: 0
        """Bytes of input read so far (for the progress bar)."""
        self._progress: Progress | None = None

    def run(self, chunks: Iterable[Sequence[InputLine]], total_bytes: int | None = None) -> bool:
        """Process every chunk of input lines (``[]``: none came for a while, see
        ``with_ticks``); ``False`` when stopped before the end."""
        if self.config.test_event_code:
            print(
                "warning: test_event_code is set: TikTok shows these events in Test Events "
                "and does not save them",
                file=self.err,
            )
        with ExitStack() as held:
            if not self.dry_run:
                self._deliverer = held.enter_context(state.deliverer_for(self.settings))
            self._run_held(chunks, total_bytes)
            if self._deliverer is not None:
                self.refused = self._deliverer.stopped
        self._summary()
        return self.stopped_by is None and self.not_written is None

    def _run_held(self, chunks: Iterable[Sequence[InputLine]], total_bytes: int | None) -> None:
        """``run`` with the deliverer held: a stop or an outcomes file not written ends it."""
        try:  # a stop may come as soon as the bar is drawn
            with signals.held():  # a bar drawn is a bar kept, so it can be cleared
                self._progress = Progress(self.err, total_bytes)
            self._workers = None if self.dry_run else Workers(self.window, "send")
            with fewer_collections():
                self._run(chunks, self._progress)
        except KeyboardInterrupt as stop:
            self._close_progress()  # the message on a line of its own, not the bar's
            self.stopped_by = stop
            self._interrupted()
        except OutcomesNotWritten as error:
            self._close_progress()
            self.not_written = error
            print(f"tiktok-destination: {error}; stopped", file=self.err)
        finally:
            self._close_progress()
            if self._workers is not None:
                self._workers.close()

    def _close_progress(self) -> None:
        """Take the bar off the terminal (it is drawn again by no one)."""
        if self._progress is not None:
            self._progress.close()

    def _run(self, chunks: Iterable[Sequence[InputLine]], progress: Progress) -> None:
        for chunk in chunks:
            if chunk:
                self._take(chunk)
            self._flush_waiting()
            self._send_ready()
            self._collect()
            progress.show(self.position(), self.counts, self.read, sum(self.resumed.values()))
        for key in list(self.groups):
            self._flush(key)
        self._send_ready()
        self._collect(everything=True)

    def final_counts(self) -> Counter[str]:
        """Outcomes of this run and, with ``--resume``, of the lines it passed over."""
        return self.counts + self.resumed

    def _write(self, records: list[dict[str, Any]]) -> None:
        for entry in records:
            if entry["status"] not in (SENDING, "ok"):  # "ok" is counted when transformed
                self.counts[entry["status"]] += 1
        if self.outcomes is not None:
            self.outcomes.write(records)

    def _write_text(self, text: str) -> None:
        """Write records made by ``record_lines`` (the caller counts them)."""
        if self.outcomes is not None:
            self.outcomes.write_text(text)

    def _take(self, chunk: Sequence[InputLine]) -> None:
        """Transform a chunk of input lines with one call of the batch hook; record the events
        that will not be sent, buffer the others (a full buffer moves to ``ready``)."""
        with signals.held():
            lines: list[tuple[int, str | None]] = []
            events, records = [], []
            resuming = bool(self.finished)
            for item in chunk:
                line, event = item[0], item[1]
                line_hash = item[2] if len(item) > 2 else None
                if resuming:
                    status = self.finished.lookup(line, line_hash)
                    if status == CHANGED:
                        self.changed += 1
                    elif status is not None:
                        self.resumed[status] += 1
                        continue
                self.read += 1
                if isinstance(event, NotJson):
                    records.append(
                        record_lines([(line, None, line_hash)], "invalid", event.message)
                    )
                    self.counts["invalid"] += 1
                else:
                    lines.append((line, line_hash))
                    events.append(event)
            outcomes = (
                self.hook.cdp_destination_transform_batch(
                    destination=NAME, events=events, settings=self.settings
                )
                if events
                else []
            )
            ok = 0
            warned: list[str] = []
            """The warnings of the events buffered, counted once a chunk (a third have one)."""
            for (line, line_hash), event, outcome in zip(lines, events, outcomes, strict=True):
                status = outcome["status"]
                if status == "ok":
                    self._buffer(line, line_hash, outcome["payload"])
                    ok += 1
                    warnings = outcome.get("warnings")
                    if warnings:
                        self.warned += 1
                        warned += warnings
                    continue
                message = outcome.get("reason") or outcome["error"]
                named = (line, own_event_id(event), line_hash)
                records.append(record_lines([named], status, message))
                self.counts[status] += 1
            self.counts["ok"] += ok
            for text, times in Counter(warned).items():  # few distinct texts
                self.warnings[reason(text)] += times
            self._write_text("".join(records))

    def _buffer(self, line: int, line_hash: str | None, payload: dict[str, Any]) -> None:
        key = batching.group_key(payload)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = []
            self.since[key] = time.monotonic()
            self.sizes[key] = batching.request_size(key, self.config.delivery.batch_size)
        group.append((line, line_hash, payload))
        if len(group) >= self.sizes[key]:
            self._flush(key)

    def _flush_waiting(self) -> None:
        """Send the groups whose first event has waited ``batching.MAX_WAIT_S``."""
        if self.since:
            now = time.monotonic()
            for key, since in list(self.since.items()):
                if now - since >= batching.MAX_WAIT_S:
                    self._flush(key)

    def _flush(self, key: tuple[Any, ...]) -> None:
        """The buffer of ``key`` is done filling: it waits in ``ready`` for its request."""
        with signals.held():
            del self.since[key]
            self.ready.append(self.groups.pop(key))

    def _send_ready(self) -> None:
        """Send the buffers in ``ready`` (when fewer than ``window`` are in flight): their
        requests encoded, their ``sending`` records written, then the requests posted (by a
        thread of ``Workers``)."""
        while self.ready:
            self._collect(room=True)
            with signals.held():
                batch = self.ready[0]
                if self.dry_run:
                    self._plan(batch)
                    self.ready.popleft()
                    continue
                assert self._workers is not None and self._deliverer is not None
                sent = _sent(batch)
                prepared = self._deliverer.prepare([payload for _line, _hash, payload in batch])
                self._write_text(records_from_heads(sent, SENDING, SENDING_MESSAGE))
                self.ready.popleft()
                del batch  # the payloads go here, in the thread that made them
                job = self._workers.submit(partial(self._deliverer.deliver, prepared))
                self.in_flight.append((sent, job))

    def _collect(self, *, room: bool = False, everything: bool = False) -> None:
        """Record the outcomes of the buffers sent, oldest first: those already known, and
        (waiting for them) the oldest ones' until fewer than ``window`` are in flight with
        ``room``, all with ``everything``. So ``window`` requests stay in flight while the next
        buffer fills, and no more."""
        while self.in_flight:
            sent, job = self.in_flight[0]
            full = room and len(self.in_flight) >= self.window
            if not (everything or full or job.done()):
                return
            outcomes = job.result()
            with signals.held():
                self._write_text(self._outcome_records(sent, outcomes))
                self.in_flight.popleft()

    def _outcome_records(self, sent: list[Sent], outcomes: list[SendOutcome]) -> str:
        """The records of one request's outcomes, counted; a run of equal outcomes (a whole
        batch delivered, say) encodes what its records share once."""
        records, start = [], 0
        for end in range(1, len(sent) + 1):
            if end < len(sent) and outcomes[end] == outcomes[start]:
                continue
            first = outcomes[start]
            status, message = first["status"], first["message"]
            code, request_id = first["code"], first["request_id"]
            records.append(records_from_heads(sent[start:end], status, message, code, request_id))
            self.counts[status] += end - start
            start = end
        return "".join(records)

    def _plan(self, batch: Pending) -> None:
        """Dry run: print the requests; an event no request can carry is ``rejected``."""
        sendable, records = [], []
        for line, line_hash, payload in batch:
            try:
                json.dumps(payload, ensure_ascii=False, allow_nan=False).encode("utf-8")
            except (TypeError, ValueError, RecursionError) as error:
                why = f"not valid JSON ({type(error).__name__})"
                records.append(
                    record(line, payload_event_id(payload), "rejected", why, line_hash=line_hash)
                )
            else:
                sendable.append(payload)
                records.append(
                    record(line, payload_event_id(payload), "ok", DRY_RUN, line_hash=line_hash)
                )
        with state.deliverer_for(self.settings) as deliverer:
            shown = deliverer.shown_requests(sendable)
        for request in shown:
            self.requests += 1
            self.out.write(json.dumps(request, ensure_ascii=False) + "\n")
        self._write(records)

    def _interrupted(self) -> None:
        """Record ``failed`` every event not finished: posted (or maybe) and not."""
        text = []
        for sent, job in self.in_flight:
            why = INTERRUPTED_BEFORE if job.cancel() else INTERRUPTED_DURING  # posted or not
            text.append(records_from_heads(sent, "failed", why))
            self.counts["failed"] += len(sent)
        for batch in [*self.ready, *self.groups.values()]:
            sent = _sent(batch)
            text.append(records_from_heads(sent, "failed", INTERRUPTED_BEFORE))
            self.counts["failed"] += len(sent)
        try:
            self._write_text("".join(text))
        except OutcomesNotWritten as error:
            print(f"tiktok-destination: {error}", file=self.err)
        self.in_flight, self.ready, self.groups, self.since = deque(), deque(), {}, {}
        print("interrupted: the events not sent are recorded as failed", file=self.err)

    def _summary(self) -> None:
        counts = ", ".join(f"{status} {self.counts[status]:,}" for status in STATUSES)
        extra = f", {self.requests:,} requests planned (dry run)" if self.dry_run else ""
        resumed = sum(self.resumed.values())
        if resumed:
            extra += f"; {resumed:,} lines finished by an earlier run, passed over"
        if self.changed:
            extra += (
                f"; {self.changed:,} lines differ from the lines the outcomes file recorded as "
                "finished (another input?), sent"
            )
        print(f"read {self.read:,}: {counts}{extra}", file=self.err)
        if self.warned:
            top = "; ".join(
                f"({n:,}) {text}" for text, n in most_frequent(self.warnings, TOP_WARNINGS)
            )
            sent = "to send" if self.dry_run else "sent"
            print(
                f"warnings: {self.warned:,} events {sent} with warnings; most frequent: {top}",
                file=self.err,
            )
        if self.refused is not None and self.counts["failed"]:
            print(
                f"tiktok-destination: TikTok refused the configuration: {self.refused}; "
                "then --resume sends what failed",
                file=self.err,
            )
