"""What the workers of one set of settings share through Redis: a throttling pause and a stop.

Both live under a key named by a hash of the API address and the access token (never the token
itself), so every worker sending with those settings, on any machine, sees them:

- ``…:pause`` exists, with an expiry, while nobody sends: TikTok asked one worker to slow down
  (HTTP 429 or code 40100), the others wait as well instead of being throttled in turn (Redis
  times the pause, so the clocks of the workers' machines do not matter);
- ``…:stop`` holds what to fix after TikTok refused the token or a permission: every worker
  stops before its next request, and the entries stay pending for after the fix.

``SharedGate`` is the gate a ``Deliverer`` asks before each request and tells after each reply.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

import redis

from tiktok_destination.fleet.streams import redis_text

KEY_PREFIX = "tiktok-destination:settings"
STOP_TTL_S = 7 * 24 * 3600
"""A stop left behind is forgotten after a week."""
MAX_PAUSE_S = 60.0
"""Longest shared pause, whatever the server asked (``retry.MAX_RETRY_AFTER_S``'s role)."""


# Set the pause to ARGV[1] ms unless a longer one holds (PTTL: -2 when there is none).
_PAUSE = """
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
"""


def settings_key(api_url: str, access_token: str) -> str:
    """The Redis key prefix of the workers sharing these settings."""
    digest = hashlib.sha256(f"{api_url}\0{access_token}".encode()).hexdigest()[:24]
    return f"{KEY_PREFIX}:{digest}"


class SharedGate:
    """The shared pause and stop of one set of settings, seen from one worker."""

    def __init__(
        self,
        client: redis.Redis,
        key: str,
        *,
        on_reply: Callable[[int | None, float], None] | None = None,
    ) -> None:
        self.client = client
        self.pause_key = f"{key}:pause"
        self.stop_key = f"{key}:stop"
        self._on_reply = on_reply
        self._pause = client.register_script(_PAUSE)

    def stopped(self) -> str | None:
        """What to fix, when some worker of these settings was refused by TikTok."""
        reason = self.client.get(self.stop_key)
        return reason if isinstance(reason, str) else None

    def stop(self, reason: str) -> None:
        """Stop every worker of these settings (keeps the first reason given)."""
        self.client.set(self.stop_key, redis_text(reason), ex=STOP_TTL_S, nx=True)

    def pause(self, seconds: float) -> None:
        """Nobody sends for ``seconds`` (capped at ``MAX_PAUSE_S``) unless a longer pause holds."""
        milliseconds = max(1, int(min(max(seconds, 0.0), MAX_PAUSE_S) * 1000))
        self._pause(keys=[self.pause_key], args=[milliseconds])

    def pause_left(self) -> float:
        """Seconds the shared pause still holds (0 when none), timed by Redis' own clock."""
        left: int = self.client.pttl(self.pause_key)
        return max(left, 0) / 1000

    # The gate a Deliverer uses.

    def before_request(self) -> str | None:
        """Wait while the shared pause holds; then the stop reason, or ``None`` to go on."""
        while (left := self.pause_left()) > 0:
            time.sleep(min(left, MAX_PAUSE_S))
        return self.stopped()

    def throttled(self, seconds: float) -> None:
        self.pause(seconds)

    def replied(self, code: int | None, seconds: float) -> None:
        if self._on_reply is not None:
            self._on_reply(code, seconds)
