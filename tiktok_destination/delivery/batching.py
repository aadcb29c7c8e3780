"""The one batching rule: which payloads share a request, how many, and how a batch splits.

Used by delivery (``Deliverer``, behind the send hook) and by the command line's buffers:

- payloads with the same ``group_key`` (event source, source id, test code) may share a request;
- a request carries at most ``batch_size`` events (``facts.MAX_EVENTS_PER_REQUEST`` at most),
  and only one when a test event code is set (each test event shows on its own in TikTok's
  Test Events);
- ``chunks`` can also cap a request's bytes (``max_bytes`` with a ``size_of`` per event);
- a batch TikTok refuses for one bad event is split in ``halves`` until that event stands alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

MAX_WAIT_S = 2.0
"""Longest an event waits in a buffer that is not full (``send``'s buffers, a worker's)."""
Key = tuple[str, str, str | None]
"""``(event_source, event_source_id, test_event_code)``."""
T = TypeVar("T")


def group_key(payload: dict[str, Any]) -> Key:
    """Payloads with the same key can share a request."""
    return payload["event_source"], payload["event_source_id"], payload.get("test_event_code")


def request_size(key: Key, batch_size: int) -> int:
    """How many events of group ``key`` one request carries at most."""
    return 1 if key[2] is not None else batch_size


def chunks(
    items: Sequence[T],
    size: int,
    *,
    max_bytes: int | None = None,
    size_of: Callable[[T], int] | None = None,
) -> Iterator[list[T]]:
    """``items`` in order, cut into runs of at most ``size`` items.

    With ``max_bytes`` and ``size_of``, a run also ends before its items' sizes add up to more
    than ``max_bytes`` (an item larger than that on its own still goes, alone).
    """
    run: list[T] = []
    used = 0
    for item in items:
        cost = size_of(item) if max_bytes is not None and size_of is not None else 0
        if run and (len(run) >= size or (max_bytes is not None and used + cost > max_bytes)):
            yield run
            run, used = [], 0
        run.append(item)
        used += cost
    if run:
        yield run


@dataclass
class Batch:
    """The events of one request, with the input position of each (and, once encoded, the
    JSON array of the events)."""

    key: Key
    indices: list[int]
    events: list[Any]
    data: bytes | None = None

    @property
    def head(self) -> dict[str, str]:
        """The request's fields besides ``data``."""
        source, source_id, test_code = self.key
        head = {"event_source": source, "event_source_id": source_id}
        if test_code is not None:
            head["test_event_code"] = test_code
        return head

    def body(self) -> dict[str, Any]:
        return {**self.head, "data": self.events}

    def halves(self) -> tuple[Batch, Batch]:
        mid = len(self.events) // 2
        return (
            Batch(self.key, self.indices[:mid], self.events[:mid]),
            Batch(self.key, self.indices[mid:], self.events[mid:]),
        )


def runs(key: Key, indices: list[int], events: list[Any], batch_size: int) -> list[Batch]:
    """The requests for the ``events`` of group ``key`` (at input ``indices``), in order, cut by
    count alone."""
    size = request_size(key, batch_size)
    return [
        Batch(key, indices[start : start + size], events[start : start + size])
        for start in range(0, len(events), size)
    ]


def batches(
    members: Sequence[tuple[Key, int, Any]],
    batch_size: int,
    *,
    max_bytes: int | None = None,
    size_of: Callable[[Any], int] | None = None,
) -> list[Batch]:
    """The requests for ``(key, index, event)`` members: grouped by key (first seen first)."""
    groups: dict[Key, list[tuple[int, Any]]] = {}
    for key, index, event in members:
        groups.setdefault(key, []).append((index, event))
    found = []
    for key, grouped in groups.items():
        cost = (lambda member: size_of(member[1])) if size_of is not None else None
        for run in chunks(
            grouped, request_size(key, batch_size), max_bytes=max_bytes, size_of=cost
        ):
            found.append(Batch(key, [index for index, _ in run], [event for _, event in run]))
    return found
