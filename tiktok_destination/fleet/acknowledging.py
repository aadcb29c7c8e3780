"""Giving entries their final outcome: acknowledge, record, dead-letter, in one atomic step.

For each finished entry one Lua script checks that it is still pending (else another worker
finished it), writes its outcome to ``{stream}:outcomes``, copies dead ones (with the reason) to
``{stream}:dead``, and only then acknowledges it. The entry stays in the stream, for the other
groups reading it, until the retention trim (``GroupConsumer.trim``). An entry that two workers both
held (one was thought dead) therefore still gets exactly one outcome; a worker killed mid-way
leaves either everything or nothing done; a write Redis refuses (out of memory) leaves the entry
pending rather than acknowledged without its outcome. Every text is written as UTF-8 whatever it
holds (``redis_text``): a lone surrogate in TikTok's message cannot stop an outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from tiktok_destination.fleet.streams import EVENT_FIELD, redis_text

# KEYS: stream, outcomes, dead. ARGV: group, event field name, then 7 values per entry.
# Records carry the group: several groups may read one stream and share its outcome streams.
_FINISH = """
local done = 0
for i = 3, #ARGV, 7 do
  local id = ARGV[i]
  if redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)[1] then
    redis.call('XADD', KEYS[2], '*', 'entry', id, 'status', ARGV[i + 1],
      'event_id', ARGV[i + 2], 'code', ARGV[i + 3], 'message', ARGV[i + 4], 'group', ARGV[1])
    if ARGV[i + 5] == '1' then
      redis.call('XADD', KEYS[3], '*', 'entry', id, 'status', ARGV[i + 1],
        'reason', ARGV[i + 4], ARGV[2], ARGV[i + 6], 'group', ARGV[1])
    end
    redis.call('XACK', KEYS[1], ARGV[1], id)
    done = done + 1
  end
end
return done
"""

FINAL_STATUSES = ("delivered", "rejected", "invalid", "skipped", "dead")
DEAD_STATUSES = frozenset({"rejected", "invalid", "dead"})
"""Outcomes that also send the entry to ``{stream}:dead``: fix, then replay them."""


def outcomes_stream(stream: str) -> str:
    return f"{stream}:outcomes"


def dead_stream(stream: str) -> str:
    return f"{stream}:dead"


@dataclass(frozen=True)
class Final:
    """The final outcome of one entry."""

    entry: str
    status: str
    message: str
    event_id: str | None = None
    code: int | None = None
    event: str | None = None
    """The entry's event text, kept in the dead-letter stream for a replay."""

    @property
    def dead(self) -> bool:
        return self.status in DEAD_STATUSES


class Acknowledger:
    """Writes final outcomes for the entries of one stream and group."""

    def __init__(self, client: redis.Redis, stream: str, group: str) -> None:
        self._keys = [stream, outcomes_stream(stream), dead_stream(stream)]
        self._group = group
        self._script = client.register_script(_FINISH)

    def finish(self, finals: list[Final]) -> int:
        """Record ``finals``; returns how many entries this call finished (others had been)."""
        if not finals:
            return 0
        args: list[bytes] = [redis_text(self._group), redis_text(EVENT_FIELD)]
        for final in finals:
            texts = [
                final.entry,
                final.status,
                final.event_id or "",
                "" if final.code is None else str(final.code),
                final.message,
                "1" if final.dead else "0",
                final.event or "",
            ]
            args += [redis_text(text) for text in texts]
        done: int = self._script(keys=self._keys, args=args)
        return done
