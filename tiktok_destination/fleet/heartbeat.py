"""A worker's heartbeat: a Redis key with a short TTL, and which consumers of a group are gone.

Each worker sets ``{stream}:heartbeat:{group}:{consumer}`` with a TTL of ``TTL_S`` seconds and
refreshes it every ``BEAT_EVERY_S`` seconds while it runs; it deletes it when it exits. A
consumer without that key is gone (killed, or stopped): what it holds can be claimed at once,
without waiting for ``--claim-after`` (``GroupConsumer.claim_from``, which also asks that Redis
has not heard from it for ``TTL_S``, so a worker that keeps no heartbeat is not taken for dead).
"""

from __future__ import annotations

from typing import Any

import redis

TTL_S = 5.0
"""Seconds a heartbeat lives unless refreshed: a worker silent this long is gone."""
BEAT_EVERY_S = 1.0
"""How often a running worker refreshes its heartbeat."""


def heartbeat_key(stream: str, group: str, consumer: str) -> str:
    """The heartbeat key of one consumer (in the stream's hash slot when its name has a tag)."""
    return f"{stream}:heartbeat:{group}:{consumer}"


class Heartbeat:
    """The heartbeat of one consumer, and the heartbeats of the others of its group."""

    def __init__(self, client: redis.Redis, stream: str, group: str, consumer: str) -> None:
        self.client = client
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self.key = self.key_of(consumer)

    def key_of(self, consumer: str) -> str:
        return heartbeat_key(self.stream, self.group, consumer)

    def beat(self) -> None:
        """Set or refresh this consumer's heartbeat (raises ``redis.RedisError``)."""
        self.client.set(self.key, "alive", px=int(TTL_S * 1000))

    def stop(self) -> None:
        """Delete this consumer's heartbeat: what it still holds can be claimed at once."""
        self.client.delete(self.key)

    def gone(self, consumers: list[str]) -> list[str]:
        """Those of ``consumers`` (others than this one) whose heartbeat is missing."""
        others = [name for name in consumers if name != self.consumer]
        if not others:
            return []
        with self.client.pipeline(transaction=False) as pipe:
            for name in others:
                pipe.exists(self.key_of(name))
            alive: list[Any] = pipe.execute()
        return [name for name, exists in zip(others, alive, strict=True) if not exists]
