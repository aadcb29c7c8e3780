"""A worker's Prometheus metrics (``prometheus-client``), served on ``--metrics-port``.

- ``tiktok_destination_events_total{status}``: entries by outcome status (``failed``: left
  pending, retried later);
- ``tiktok_destination_requests_total{code}``: requests by TikTok's code, else HTTP status (a
  code of the code table or a known HTTP status, ``other`` for the rest: a hostile server
  cannot make series without end);
- ``tiktok_destination_request_seconds``: request latency (histogram);
- ``tiktok_destination_entries_pending``: read by the group, not yet acknowledged.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from tiktok_destination.facts import CODES

PREFIX = "tiktok_destination"
_HTTP_STATUSES = frozenset(status.value for status in HTTPStatus)


def code_label(code: int | None) -> str:
    """The ``code`` label of a reply: ``none``, a code TikTok documents, an HTTP status, or
    ``other``."""
    if code is None:
        return "none"
    return str(code) if code in CODES or code in _HTTP_STATUSES else "other"


class WorkerMetrics:
    """The metrics of one worker, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events = Counter(
            f"{PREFIX}_events",
            "Entries by outcome status (failed: left pending, retried later)",
            ["status"],
            registry=self.registry,
        )
        self.requests = Counter(
            f"{PREFIX}_requests",
            "Requests to TikTok by answer code (TikTok's code, else the HTTP status, else none)",
            ["code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            f"{PREFIX}_request_seconds",
            "Time of one request to TikTok",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.pending = Gauge(
            f"{PREFIX}_entries_pending",
            "Entries read by the consumer group and not yet acknowledged",
            registry=self.registry,
        )

    def outcome(self, status: str, count: int = 1) -> None:
        self.events.labels(status=status).inc(count)

    def request(self, code: int | None, seconds: float) -> None:
        self.requests.labels(code=code_label(code)).inc()
        self.latency.observe(seconds)

    def serve(self, port: int, address: str = "127.0.0.1") -> Callable[[], None]:
        """Serve ``/metrics`` on ``address``:``port`` from a background thread; returns what
        stops it."""
        server, _thread = start_http_server(port, address, registry=self.registry)

        def close() -> None:
            server.shutdown()
            server.server_close()

        return close
