"""Reading a Redis stream as one consumer of a consumer group: join, read, claim, keep, count.

An entry holds one event as JSON text in field ``event``. Read entries stay in the group's
pending list until acknowledged (``finishing.py``); entries left idle longer than the claim
delay by a consumer that died are taken over with ``XAUTOCLAIM``; a live consumer keeps the
entries it still works on by refreshing their idle time (``keep``), never taking back one
that another consumer claimed meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

DEFAULT_STREAM = "tiktok:events"
DEFAULT_GROUP = "tiktok-destination"
EVENT_FIELD = "event"

# Refresh the idle time of the entries this consumer still owns; skip the ones it lost.
_KEEP = """
local kept = 0
for i = 3, #ARGV do
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if pending[1] and pending[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    kept = kept + 1
  end
end
return kept
"""

# Delete the consumers that hold nothing and were not heard of for ARGV[2] ms (not ARGV[3]).
_FORGET = """
local forgotten = 0
for _, row in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local consumer = {}
  for i = 1, #row, 2 do consumer[row[i]] = row[i + 1] end
  if consumer['pending'] == 0 and consumer['idle'] >= tonumber(ARGV[2])
      and consumer['name'] ~= ARGV[3] then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], consumer['name'])
    forgotten = forgotten + 1
  end
end
return forgotten
"""


@dataclass(frozen=True)
class Entry:
    """One stream entry: its id, its ``event`` text (``None`` if absent), times delivered."""

    id: str
    event: str | None
    deliveries: int = 1

    @property
    def time(self) -> float:
        """When the entry was added (epoch seconds), read from its id."""
        return int(self.id.split("-", 1)[0]) / 1000.0


CLIENT_NAME = "tiktok-destination"


def connect(url: str, name: str = CLIENT_NAME) -> redis.Redis:
    """A client for ``url`` (``redis://host:port/db``) that answers with ``str``.

    Its connections carry ``name`` (``CLIENT LIST`` shows who is connected).
    """
    return redis.Redis.from_url(
        url, decode_responses=True, health_check_interval=30, client_name=name
    )


def _entries(raw: Any) -> list[Entry]:
    return [Entry(entry_id, fields.get(EVENT_FIELD)) for entry_id, fields in raw if fields]


class GroupReader:
    """One consumer of a consumer group on one stream."""

    def __init__(self, client: redis.Redis, stream: str, group: str, consumer: str) -> None:
        self.client = client
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self._cursor = "0-0"
        self._keep = client.register_script(_KEEP)
        self._forget = client.register_script(_FORGET)

    def join(self) -> None:
        """Create the group (and the stream) if missing; a new group starts at the beginning."""
        try:
            self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def forget_idle(self, idle_ms: int) -> int:
        """Delete the group's consumers holding no entry and silent for ``idle_ms`` or more.

        Workers that stopped leave their names in the group; a live worker is heard of at every
        read, and one holding entries is never forgotten (checked atomically).
        """
        forgotten: int = self._forget(keys=[self.stream], args=[self.group, idle_ms, self.consumer])
        return forgotten

    def read(self, count: int, block_ms: int) -> list[Entry]:
        """Up to ``count`` entries never delivered before, waiting at most ``block_ms``."""
        answer: Any = self.client.xreadgroup(
            self.group, self.consumer, {self.stream: ">"}, count=count, block=block_ms
        )
        return _entries(answer[0][1]) if answer else []

    def claim(self, idle_ms: int, count: int) -> list[Entry]:
        """Up to ``count`` entries idle for ``idle_ms`` or more, taken over by this consumer.

        Each comes with how many times it has been delivered, this time included.
        """
        answer: Any = self.client.xautoclaim(
            self.stream,
            self.group,
            self.consumer,
            min_idle_time=idle_ms,
            start_id=self._cursor,
            count=count,
        )
        self._cursor = answer[0]
        claimed = _entries(answer[1])
        if not claimed:
            return []
        with self.client.pipeline(transaction=False) as pipe:
            for entry in claimed:
                pipe.xpending_range(self.stream, self.group, entry.id, entry.id, 1)
            counts = pipe.execute()
        return [
            Entry(entry.id, entry.event, rows[0]["times_delivered"] if rows else 1)
            for entry, rows in zip(claimed, counts, strict=True)
        ]

    def keep(self, entry_ids: list[str]) -> int:
        """Refresh the idle time of those of ``entry_ids`` this consumer still owns."""
        if not entry_ids:
            return 0
        kept: int = self._keep(keys=[self.stream], args=[self.group, self.consumer, *entry_ids])
        return kept

    def pending(self) -> int:
        """Entries of the group read but not yet acknowledged, all consumers together."""
        summary: Any = self.client.xpending(self.stream, self.group)
        return int(summary["pending"])

    def backlog(self) -> int:
        """Entries of the group not yet read by any consumer, or -1 when Redis cannot tell."""
        for group in self.client.xinfo_groups(self.stream):
            if group["name"] == self.group:
                lag = group.get("lag")
                return int(lag) if lag is not None else -1
        return -1
