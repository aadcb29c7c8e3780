"""One worker of a fleet: the loop that claims, reads, batches and stops, on Redis Streams.

The loop takes over the entries of consumers that are gone (their heartbeat expired,
``heartbeat.py``) at once, and entries idle longer than ``claim_after_s`` (their consumer died
unseen, or their delivery failed); at its start, the entries left under its own name by an
earlier run. Else it reads new ones, hands them to ``Batches`` and sends the buffers that are
due, or all of them when nothing new came (a backfill's last events do not wait). It logs a
start-up line (where it reads, the settings without the token, what is pending) and a line for
every take-over. What it holds
is bounded in bytes too (``max_held_bytes``): reads take no more than the room left, and a full
worker sends what it holds before reading on. A keeper thread refreshes the idle time of the
entries the worker holds, so a slow send is not claimed and sent twice, beats the heartbeat,
updates the pending gauge and trims the stream by the retention. ``run()`` gives a ``Verdict``:

- ``DONE`` on ``request_stop()`` (SIGTERM, SIGINT: reading stops, the buffers are sent), or
  after ``exit_when_idle_s`` with nothing new, nothing held and nothing pending;
- ``STOPPED`` when TikTok refused the settings (the shared stop): entries stay pending, and
  ``stop_reason`` says what to fix.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any

import redis

from tiktok_destination.delivery.batching import MAX_WAIT_S
from tiktok_destination.delivery.deliverer import Deliverer
from tiktok_destination.fleet.acknowledging import Acknowledger
from tiktok_destination.fleet.batches import Batches
from tiktok_destination.fleet.gate import SharedGate, settings_key
from tiktok_destination.fleet.heartbeat import BEAT_EVERY_S, TTL_S, Heartbeat
from tiktok_destination.fleet.metrics import WorkerMetrics
from tiktok_destination.fleet.streams import MAX_READ_BYTES, Entry, GroupConsumer
from tiktok_destination.quoting import printable
from tiktok_destination.settings import SECRET_KEYS, Config

log = logging.getLogger("tiktok_destination")

MAX_BLOCK_MS = 500
"""Longest wait for new entries, so that a stop request is seen quickly."""
FORGET_AFTER_MS = 24 * 3600 * 1000
"""Consumers (stopped workers) silent this long and holding nothing leave the group."""
DEFAULT_RETENTION_S = 7 * 24 * 3600.0
"""Finished entries stay in the stream this long (README "Scaling out", ``--retention``)."""
TRIM_EVERY_S = 60.0
"""How often a worker trims the stream by the retention."""
HIDDEN = "(hidden)"
"""What the start-up line shows for a secret setting (the token)."""


def shown_settings(settings: dict[str, Any]) -> str:
    """``settings`` as one line of JSON for a log, every secret (the token) hidden."""
    shown = {key: HIDDEN if key in SECRET_KEYS else value for key, value in settings.items()}
    return json.dumps(shown, default=repr, separators=(",", ":"))


class Verdict(Enum):
    """How a worker's run ended."""

    DONE = "done"
    """Stopped on request, or idle: what it held was sent and finished."""
    STOPPED = "stopped"
    """TikTok refused the settings: the entries stay pending (``Worker.stop_reason``)."""


@dataclass(frozen=True)
class Options:
    """Where a worker reads (stream, group, its name) and its timings (the command's flags)."""

    stream: str
    group: str
    consumer: str
    claim_after_s: float = 60.0
    exit_when_idle_s: float | None = None
    max_wait_s: float = MAX_WAIT_S
    """Longest an entry waits in a buffer that is not full."""
    retention_s: float = DEFAULT_RETENTION_S
    """Finished entries older than this are trimmed from the stream."""
    max_held_bytes: int = MAX_READ_BYTES
    """Bytes of entries the worker holds at most (one entry more)."""


class Worker:
    """Delivers the entries of one stream, as one consumer of one group."""

    def __init__(
        self,
        client: redis.Redis,
        settings: dict[str, Any],
        config: Config,
        options: Options,
        metrics: WorkerMetrics | None = None,
    ) -> None:
        self.options = options
        self.metrics = metrics or WorkerMetrics()
        self.reader = GroupConsumer(client, options.stream, options.group, options.consumer)
        self.heartbeat = Heartbeat(client, options.stream, options.group, options.consumer)
        self.settings = settings
        delivery = config.delivery
        self.gate = SharedGate(
            client,
            settings_key(delivery.api_url, delivery.access_token),
            on_reply=self.metrics.request,
        )
        self.deliverer = Deliverer(delivery, gate=self.gate)
        finisher = Acknowledger(client, options.stream, options.group)
        self.batches = Batches(
            settings,
            delivery.batch_size,
            send=self.deliverer.send,
            finish=finisher.finish,
            count=self.metrics.outcome,
            release=self.reader.release,
            max_wait_s=options.max_wait_s,
        )
        self.stop_reason: str | None = None
        self._stopping = threading.Event()

    def request_stop(self) -> None:
        """Stop reading; the entries held are still sent and finished (signal-safe)."""
        self._stopping.set()

    def run(self) -> Verdict:
        """Deliver until stopped, idle, or refused by TikTok (raises ``redis.RedisError``)."""
        beating = False
        try:
            self.reader.join()
            self.heartbeat.beat()
            beating = True
            self.reader.forget_idle(FORGET_AFTER_MS)
            log.info("%s", self._startup_line())
            self.stop_reason = self.gate.stopped()
            if self.stop_reason is not None:
                return Verdict.STOPPED
            self._trim()
            keeper = threading.Thread(target=self._keep, name="keep-entries", daemon=True)
            keeper.start()
            try:
                self._loop()
                if self.stop_reason is None:
                    self.batches.flush_all()
                    self.stop_reason = self.deliverer.stopped
            finally:
                self._stopping.set()
                keeper.join(timeout=5)
                self.deliverer.close()
            self._trim()
        finally:
            if beating:
                self._stop_heartbeat()
            self.reader.close()
        return Verdict.DONE if self.stop_reason is None else Verdict.STOPPED

    def _startup_line(self) -> str:
        options = self.options
        holders = self.reader.holders()
        gone = set(self.heartbeat.gone(list(holders)))
        held = ", ".join(
            f"{printable(name)}: {count}{' without heartbeat' if name in gone else ''}"
            for name, count in holders.items()
        )
        pending = f"pending {sum(holders.values())} ({held})" if holders else "nothing pending"
        backlog = self.reader.backlog()
        unread = f"{backlog} not yet read" if backlog >= 0 else "not yet read: unknown"
        return (
            f"worker started: stream {printable(options.stream)}, group "
            f"{printable(options.group)}, consumer {printable(options.consumer)}, claim after "
            f"{options.claim_after_s:g} s; {pending}; {unread}; settings "
            f"{shown_settings(self.settings)}"
        )

    def _stop_heartbeat(self) -> None:
        try:
            self.heartbeat.stop()
        except redis.RedisError as error:
            log.warning("could not delete the heartbeat (%s)", type(error).__name__)

    def _take_over(self, count: int, room: int, first: bool) -> list[Entry]:
        """The entries of consumers that are gone (at the first call, also the entries left
        under this worker's own name by an earlier run)."""
        idle_ms = int(TTL_S * 1000)
        entries: list[Entry] = []
        if first:
            entries = self.reader.claim_from(
                self.options.consumer, self.heartbeat.key, idle_ms, count, room, ask=False
            )
            if entries:
                log.info(
                    "claimed %d entries left under this worker's name by an earlier run",
                    len(entries),
                )
        for name in self.heartbeat.gone(list(self.reader.holders())):
            if len(entries) >= count or sum(entry.size for entry in entries) >= room:
                break
            left = room - sum(entry.size for entry in entries)
            key = self.heartbeat.key_of(name)
            taken = self.reader.claim_from(name, key, idle_ms, count - len(entries), left)
            if taken:
                log.info(
                    "claimed %d entries from worker %s, gone (no heartbeat for %g s)",
                    len(taken),
                    printable(name),
                    TTL_S,
                )
            entries += taken
        return entries

    def _loop(self) -> None:
        claim_every = min(1.0, self.options.claim_after_s / 2)
        claim_ms = int(self.options.claim_after_s * 1000)
        delivery = self.deliverer.config
        count = delivery.batch_size * delivery.max_concurrent_requests  # requests side by side
        next_claim = 0.0
        first = True
        last_seen = time.monotonic()
        while not self._stopping.is_set():
            room = self.options.max_held_bytes - self.batches.held_bytes()
            if room <= 0:  # full: send what is held before reading on
                self.batches.flush_all()
                room = self.options.max_held_bytes - self.batches.held_bytes()
            entries = []
            if time.monotonic() >= next_claim:
                entries = self._take_over(count, room, first)
                first = False
                if not entries:
                    entries = self.reader.claim(claim_ms, count, room)
                    if entries:
                        log.info(
                            "claimed %d entries idle for %g s or more (their worker gone, or "
                            "their delivery failed)",
                            len(entries),
                            self.options.claim_after_s,
                        )
                next_claim = time.monotonic() + (0 if entries else claim_every)
            if not entries:
                due = self.batches.waiting_s()
                wait = next_claim - time.monotonic() if due is None else due
                block_ms = max(1, min(MAX_BLOCK_MS, int(wait * 1000)))
                entries = self.reader.read(count, block_ms, room)
            if entries:
                self.batches.take(entries)
                self.batches.flush_due()
                last_seen = time.monotonic()
            else:  # nothing new came: what waits in the buffers goes now
                self.batches.flush_all()
            self.stop_reason = self.deliverer.stopped or self.gate.stopped()
            if self.stop_reason is not None:
                return
            if not entries and self._idle_since(last_seen):
                return

    def _idle_since(self, last_seen: float) -> bool:
        limit = self.options.exit_when_idle_s
        if limit is None or time.monotonic() - last_seen < limit or self.batches.held():
            return False
        return self.reader.pending() == 0

    def _keep(self) -> None:
        every = max(0.05, min(5.0, self.options.claim_after_s / 4))
        next_keep = time.monotonic() + every
        next_trim = time.monotonic() + TRIM_EVERY_S
        while not self._stopping.wait(min(every, BEAT_EVERY_S)):
            try:
                self.heartbeat.beat()
            except redis.RedisError as error:
                log.warning("could not refresh the heartbeat (%s)", type(error).__name__)
            if time.monotonic() >= next_keep:
                next_keep = time.monotonic() + every
                try:
                    self.reader.keep(self.batches.held())
                    self.metrics.pending.set(self.reader.pending())
                except redis.RedisError as error:
                    log.warning("could not refresh the entries held (%s)", type(error).__name__)
            if time.monotonic() >= next_trim:
                next_trim = time.monotonic() + TRIM_EVERY_S
                self._trim()

    def _trim(self) -> None:
        try:
            self.reader.trim(int(self.options.retention_s * 1000))
        except redis.RedisError as error:
            log.warning("could not trim %s (%s)", self.options.stream, type(error).__name__)
