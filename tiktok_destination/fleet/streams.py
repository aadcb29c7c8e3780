"""EventWalk a Redis stream as one consumer of a consumer group: join, read, claim, keep, trim.

An entry holds one event as JSON text in field ``event``. Entries are read as bytes and decoded
one at a time: an entry that is not UTF-8 (its ``event`` or a field name) comes out with a
``problem`` instead of crashing the read of its neighbours. Read entries stay in the group's
pending list until acknowledged (``finishing.py``); entries left idle longer than the claim
delay by a consumer that died are taken over with ``XAUTOCLAIM``, and the entries of a
consumer known to be gone (``heartbeat.py``) at once (``claim_from``); a live consumer keeps the
entries it still works on by refreshing their idle time (``keep``), never taking back one
that another consumer claimed meanwhile, and gives back the ones it could not deliver
(``release``) without that delivery counting toward the poison limit. Acknowledged entries stay
in the stream (other groups may read it) until ``trim`` removes those older than the retention
that every group on the stream has finished.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

DEFAULT_STREAM = "tiktok:events"
DEFAULT_GROUP = "tiktok-destination"
EVENT_FIELD = "event"

# Read up to ARGV[3] new entries, one at a time, until they hold ARGV[4] bytes or more: a read
# never takes much more than its byte budget, however big the entries.
_READ = """
local entries, bytes = {}, 0
while #entries < tonumber(ARGV[3]) and bytes < tonumber(ARGV[4]) do
  local answer = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', 1,
    'STREAMS', KEYS[1], '>')
  if not answer then break end
  local entry = answer[1][2][1]
  bytes = bytes + #entry[1]
  for _, part in ipairs(entry[2]) do bytes = bytes + #part end
  entries[#entries + 1] = entry
end
return entries
"""

# Claim entries idle ARGV[3] ms or more, from cursor ARGV[4], one at a time, up to ARGV[5] of
# them or ARGV[6] bytes; each with its delivery count. Returns {cursor, entries, counts}.
_CLAIM = """
local cursor, entries, counts, bytes = ARGV[4], {}, {}, 0
for _ = 1, tonumber(ARGV[5]) do
  local answer = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], cursor, 'COUNT', 1)
  cursor = answer[1]
  for _, entry in ipairs(answer[2]) do
    if entry and entry[2] then
      bytes = bytes + #entry[1]
      for _, part in ipairs(entry[2]) do bytes = bytes + #part end
      entries[#entries + 1] = entry
      local row = redis.call('XPENDING', KEYS[1], ARGV[1], entry[1], entry[1], 1)[1]
      counts[#counts + 1] = row and row[4] or 1
    end
  end
  if cursor == '0-0' or #entries >= tonumber(ARGV[5]) or bytes >= tonumber(ARGV[6]) then
    break
  end
end
return {cursor, entries, counts}
"""

# Claim up to ARGV[5] entries (or ARGV[6] bytes) held by consumer ARGV[3], for ARGV[2], when it
# is gone: its heartbeat KEYS[2] is missing and Redis has not heard from it for ARGV[4] ms
# (ARGV[7] == '1': claim without asking, the consumer's own entries at its start). Each with its
# delivery count, this delivery included. Returns {entries, counts}.
_CLAIM_FROM = """
if ARGV[7] ~= '1' then
  if redis.call('EXISTS', KEYS[2]) == 1 then return {{}, {}} end
  local idle
  for _, row in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
    local consumer = {}
    for i = 1, #row, 2 do consumer[row[i]] = row[i + 1] end
    if consumer['name'] == ARGV[3] then idle = consumer['idle'] end
  end
  if not idle or idle < tonumber(ARGV[4]) then return {{}, {}} end
end
local entries, counts, bytes = {}, {}, 0
for _, row in ipairs(redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', ARGV[5], ARGV[3])) do
  local entry = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, row[1])[1]
  if entry and entry[2] then
    bytes = bytes + #entry[1]
    for _, part in ipairs(entry[2]) do bytes = bytes + #part end
    entries[#entries + 1] = entry
    counts[#counts + 1] = row[4] + 1
  end
  if bytes >= tonumber(ARGV[6]) then break end
end
return {entries, counts}
"""

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

# Give back the entries this consumer still owns, undoing the delivery count of this delivery
# (RETRYCOUNT with JUSTID): only a consumer that dies holding an entry makes its count grow.
_RELEASE = """
local released = 0
for i = 3, #ARGV do
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if pending[1] and pending[1][2] == ARGV[2] then
    local count = math.max(tonumber(pending[1][4]) - 1, 0)
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'RETRYCOUNT', count, 'JUSTID')
    released = released + 1
  end
end
return released
"""

# Trim the entries below ARGV[1] (an id) that every group has finished: a group's oldest pending
# entry, else the entry after its last delivered one, bounds the trim. Returns entries removed.
_TRIM = """
local function parts(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return ms, seq
end
local function less(a, b)
  local am, as = parts(a)
  local bm, bs = parts(b)
  if #am ~= #bm then return #am < #bm end
  if am ~= bm then return am < bm end
  if #as ~= #bs then return #as < #bs end
  return as < bs
end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local bound = ARGV[1]
for _, row in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local group = {}
  for i = 1, #row, 2 do group[row[i]] = row[i + 1] end
  local keep
  if group['pending'] > 0 then
    keep = redis.call('XPENDING', KEYS[1], group['name'])[2]
  else
    local ms, seq = parts(group['last-delivered-id'])
    keep = #seq < 15 and (ms .. '-' .. (tonumber(seq) + 1)) or group['last-delivered-id']
  end
  if less(keep, bound) then bound = keep end
end
return redis.call('XTRIM', KEYS[1], 'MINID', bound)
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
    """One stream entry: its id, its ``event`` text (``None`` if absent), times delivered.

    ``problem`` says why the entry cannot be read (then ``event`` is its bytes with what is not
    UTF-8 escaped, for the dead letters); ``size`` is its bytes in Redis' answer, about.
    """

    id: str
    event: str | None
    deliveries: int = 1
    problem: str | None = None
    size: int = 0

    @property
    def time(self) -> float:
        """When the entry was added (epoch seconds), read from its id."""
        return int(self.id.split("-", 1)[0]) / 1000.0


CLIENT_NAME = "tiktok-destination"
MAX_READ_BYTES = 64 << 20
"""Bytes of entries one read takes at most (one entry more), unless told otherwise."""


def connect(url: str, name: str = CLIENT_NAME) -> redis.Redis:
    """A client for ``url`` (``redis://host:port/db``) that answers with ``str``.

    Its connections carry ``name`` (``CLIENT LIST`` shows who is connected).
    """
    return redis.Redis.from_url(
        url, decode_responses=True, health_check_interval=30, client_name=name
    )


def redis_text(text: str) -> bytes:
    """``text`` as UTF-8 for Redis, whatever it holds: a lone surrogate is written escaped."""
    return text.encode("utf-8", "backslashreplace")


def raw_client(client: redis.Redis) -> redis.Redis:
    """A client to the same server as ``client`` that answers with ``bytes``, never decoding."""
    pool = client.connection_pool
    kwargs = {**pool.connection_kwargs, "decode_responses": False}
    return redis.Redis(connection_pool=redis.ConnectionPool(pool.connection_class, **kwargs))


_EVENT_KEY = EVENT_FIELD.encode()


def _not_utf8(where: str, error: UnicodeDecodeError) -> str:
    return f"{where}: not UTF-8 ({error.reason} at byte {error.start + 1})"


def _entry(entry_id: bytes, fields: dict[bytes, bytes], deliveries: int = 1) -> Entry:
    """One entry of a raw answer, decoded on its own."""
    size = len(entry_id) + sum(len(name) + len(value) for name, value in fields.items())
    problem = None
    for name in fields:
        try:
            name.decode("utf-8")
        except UnicodeDecodeError as error:
            problem = _not_utf8("entry: a field name", error)
            break
    raw = fields.get(_EVENT_KEY)
    event = None
    if raw is not None:
        try:
            event = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            problem = problem or _not_utf8(f"entry: field {EVENT_FIELD!r}", error)
            event = raw.decode("utf-8", "backslashreplace")
    return Entry(entry_id.decode("ascii"), event, deliveries, problem, size)


def _fields(flat: list[bytes]) -> dict[bytes, bytes]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _entries(raw: Any) -> list[Entry]:
    return [_entry(entry_id, fields) for entry_id, fields in raw if fields]


class GroupConsumer:
    """One consumer of a consumer group on one stream."""

    def __init__(self, client: redis.Redis, stream: str, group: str, consumer: str) -> None:
        self.client = client
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self._raw = raw_client(client)
        self._cursor = "0-0"
        self._read = self._raw.register_script(_READ)
        self._claim = self._raw.register_script(_CLAIM)
        self._claim_from = self._raw.register_script(_CLAIM_FROM)
        self._keep = client.register_script(_KEEP)
        self._release = client.register_script(_RELEASE)
        self._trim = client.register_script(_TRIM)
        self._forget = client.register_script(_FORGET)

    def close(self) -> None:
        """Close the connections of the raw client (the one given stays open)."""
        self._raw.close()
        self._raw.connection_pool.disconnect()

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

    def read(self, count: int, block_ms: int, max_bytes: int = MAX_READ_BYTES) -> list[Entry]:
        """Up to ``count`` entries never delivered before, holding about ``max_bytes`` at most
        (one entry more); when none waits, the first to come within ``block_ms``."""
        rows: Any = self._read(
            keys=[self.stream], args=[self.group, self.consumer, count, max(1, max_bytes)]
        )
        if rows:
            return [_entry(entry_id, _fields(flat)) for entry_id, flat in rows]
        answer: Any = self._raw.xreadgroup(
            self.group, self.consumer, {self.stream: ">"}, count=1, block=block_ms
        )
        return _entries(answer[0][1]) if answer else []

    def claim(self, idle_ms: int, count: int, max_bytes: int = MAX_READ_BYTES) -> list[Entry]:
        """Up to ``count`` entries idle for ``idle_ms`` or more, taken over by this consumer,
        holding about ``max_bytes`` at most (one entry more).

        Each comes with how many times it has been delivered, this time included.
        """
        args: list[str | int] = [self.group, self.consumer, idle_ms, self._cursor]
        args += [max(1, count), max(1, max_bytes)]
        answer: Any = self._claim(keys=[self.stream], args=args)
        cursor, rows, counts = answer
        self._cursor = cursor.decode("ascii")
        return [
            _entry(entry_id, _fields(flat), int(deliveries))
            for (entry_id, flat), deliveries in zip(rows, counts, strict=True)
        ]

    def claim_from(
        self,
        consumer: str,
        heartbeat_key: str,
        idle_ms: int,
        count: int,
        max_bytes: int = MAX_READ_BYTES,
        *,
        ask: bool = True,
    ) -> list[Entry]:
        """Up to ``count`` entries held by ``consumer``, taken over by this one, holding about
        ``max_bytes`` at most (one entry more), if ``consumer`` is gone: ``heartbeat_key`` is
        missing and Redis has not heard from it for ``idle_ms`` (checked atomically; without
        ``ask``, taken whatever they say). Each comes with how many times it has been delivered,
        this time included."""
        args: list[str | int] = [self.group, self.consumer, consumer, idle_ms]
        args += [max(1, count), max(1, max_bytes), "0" if ask else "1"]
        answer: Any = self._claim_from(keys=[self.stream, heartbeat_key], args=args)
        rows, counts = answer
        return [
            _entry(entry_id, _fields(flat), int(deliveries))
            for (entry_id, flat), deliveries in zip(rows, counts, strict=True)
        ]

    def keep(self, entry_ids: list[str]) -> int:
        """Refresh the idle time of those of ``entry_ids`` this consumer still owns."""
        if not entry_ids:
            return 0
        kept: int = self._keep(keys=[self.stream], args=[self.group, self.consumer, *entry_ids])
        return kept

    def release(self, entry_ids: list[str]) -> int:
        """Give back those of ``entry_ids`` this consumer still owns, to be claimed again after
        the claim delay, without this delivery counting toward the poison limit."""
        if not entry_ids:
            return 0
        released: int = self._release(
            keys=[self.stream], args=[self.group, self.consumer, *entry_ids]
        )
        return released

    def trim(self, retention_ms: int) -> int:
        """Remove the entries older than ``retention_ms`` (Redis' clock) that every group on the
        stream has finished; returns how many went."""
        seconds, microseconds = self.client.time()
        cutoff = max(0, seconds * 1000 + microseconds // 1000 - retention_ms)
        removed: int = self._trim(keys=[self.stream], args=[f"{cutoff}-0"])
        return removed

    def pending(self) -> int:
        """Entries of the group read but not yet acknowledged, all consumers together."""
        summary: Any = self.client.xpending(self.stream, self.group)
        return int(summary["pending"])

    def holders(self) -> dict[str, int]:
        """The consumers of the group holding entries, with how many each holds."""
        summary: Any = self.client.xpending(self.stream, self.group)
        return {row["name"]: int(row["pending"]) for row in summary["consumers"] or []}

    def backlog(self) -> int:
        """Entries of the group not yet read by any consumer, or -1 when Redis cannot tell."""
        for group in self.client.xinfo_groups(self.stream):
            if group["name"] == self.group:
                lag = group.get("lag")
                return int(lag) if lag is not None else -1
        return -1
