"""The ``enqueue`` and ``worker`` commands: events into a Redis stream, and a worker draining it.

Every line the worker prints is a log line stamped with the UTC time to the millisecond
(``2025-01-31T12:00:00.123Z INFO worker started: ...``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import socket
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import redis

from tiktok_destination.cli.event_files import ParsedLine, open_events, read_lines
from tiktok_destination.cli.exits import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, UsageError
from tiktok_destination.fleet.acknowledging import dead_stream, outcomes_stream
from tiktok_destination.fleet.metrics import WorkerMetrics
from tiktok_destination.fleet.streams import (
    CLIENT_NAME,
    DEFAULT_GROUP,
    DEFAULT_STREAM,
    EVENT_FIELD,
    connect,
)
from tiktok_destination.fleet.worker import DEFAULT_RETENTION_S, Options, Verdict, Worker
from tiktok_destination.state import config_for
from tiktok_destination.transform.event_text import NotJson

ENQUEUE_CHUNK = 1000
"""Entries added per round trip to Redis."""
REDIS_SCHEMES = ("redis", "rediss", "unix")
URL_HELP = "redis://[user:password@]host:port/db (rediss:// for TLS)"
DEFAULT_METRICS_HOST = "127.0.0.1"
LOG_FORMAT = "%(asctime)s.%(msecs)03dZ %(levelname)s %(message)s"
LOG_TIME = "%Y-%m-%dT%H:%M:%S"
log = logging.getLogger("tiktok_destination")
CONSUMER_NAME = re.compile(r"[!-~]{1,200}")
"""A consumer name: 1 to 200 visible ASCII characters (Redis client names allow no more)."""


def add_commands(commands: Any) -> None:
    """Add ``enqueue`` and ``worker`` to the command line's subparsers."""
    enqueue = commands.add_parser("enqueue", help="add events to a Redis stream for workers")
    enqueue.add_argument("--redis", required=True, type=_redis_url, metavar="URL", help=URL_HELP)
    enqueue.add_argument("--stream", default=DEFAULT_STREAM, help=f"default {DEFAULT_STREAM}")
    enqueue.add_argument(
        "events", nargs="?", metavar="EVENTS", help="JSON Lines or a JSON array; - or absent: stdin"
    )
    enqueue.set_defaults(run=cmd_enqueue)
    worker = commands.add_parser("worker", help="deliver the events of a Redis stream")
    worker.add_argument("--settings", required=True, metavar="SETTINGS.json")
    worker.add_argument("--redis", required=True, type=_redis_url, metavar="URL", help=URL_HELP)
    worker.add_argument("--stream", default=DEFAULT_STREAM, help=f"default {DEFAULT_STREAM}")
    worker.add_argument("--group", default=DEFAULT_GROUP, help=f"default {DEFAULT_GROUP}")
    worker.add_argument("--consumer", type=_consumer, help="this worker's name (default: host-pid)")
    worker.add_argument(
        "--claim-after",
        type=_positive,
        default=60.0,
        metavar="SECONDS",
        help="take over entries idle this long (default 60)",
    )
    worker.add_argument(
        "--exit-when-idle",
        type=_positive,
        metavar="SECONDS",
        help="exit once nothing new or pending was seen this long",
    )
    worker.add_argument(
        "--retention",
        type=_positive,
        default=DEFAULT_RETENTION_S,
        metavar="SECONDS",
        help="trim finished entries older than this (default 604800, 7 days)",
    )
    worker.add_argument(
        "--metrics-port", type=_port, metavar="N", help="serve Prometheus metrics on this port"
    )
    worker.add_argument(
        "--metrics-host",
        default=DEFAULT_METRICS_HOST,
        metavar="ADDRESS",
        help=f"the address the metrics are served on (default {DEFAULT_METRICS_HOST})",
    )
    worker.set_defaults(run=cmd_worker)


def _redis_url(text: str) -> str:
    if urlsplit(text).scheme not in REDIS_SCHEMES:
        raise argparse.ArgumentTypeError(f"expected a redis://host:port/db URL, got {text!r}")
    return text


def _consumer(text: str) -> str:
    if not CONSUMER_NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"expected 1-200 visible ASCII characters (no spaces), got {text!r}"
        )
    return text


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"expected a port number (1-65535), got {text!r}")
    return int(text)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _add(client: redis.Redis, stream: str, events: list[str]) -> None:
    with client.pipeline(transaction=False) as pipe:
        for text in events:
            pipe.xadd(stream, {EVENT_FIELD: text})
        pipe.execute()


def enqueue(client: redis.Redis, stream: str, records: Iterable[ParsedLine]) -> tuple[int, int]:
    """``XADD`` every readable record to ``stream``; returns (added, skipped)."""
    added = skipped = 0
    chunk: list[str] = []
    for _line, event in records:
        if isinstance(event, NotJson):
            print(f"skipped: {event.message}", file=sys.stderr)
            skipped += 1
            continue
        chunk.append(json.dumps(event, ensure_ascii=False, separators=(",", ":")))
        if len(chunk) >= ENQUEUE_CHUNK:
            _add(client, stream, chunk)
            added += len(chunk)
            chunk = []
    if chunk:
        _add(client, stream, chunk)
        added += len(chunk)
    return added, skipped


def cmd_enqueue(args: argparse.Namespace) -> int:
    client = connect(args.redis)
    try:
        with open_events(args.events) as stream:
            added, skipped = enqueue(client, args.stream, read_lines(stream))
    except redis.RedisError as error:
        print(f"tiktok-destination: redis: {error}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        client.close()
    print(f"enqueued {added} events to {args.stream}, skipped {skipped} lines", file=sys.stderr)
    return EXIT_OK if skipped == 0 else EXIT_FAILED


@contextmanager
def stamped_log() -> Iterator[None]:
    """While it lasts, the package's log lines (INFO and up) go to stderr, each timestamped."""
    formatter = logging.Formatter(LOG_FORMAT, LOG_TIME)
    formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    level, propagate = log.level, log.propagate
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
        log.propagate = propagate


def cmd_worker(args: argparse.Namespace) -> int:
    from tiktok_destination.cli.settings_file import load_settings  # the command line's one reader

    settings = load_settings(args.settings)
    consumer = args.consumer or f"{socket.gethostname()}-{os.getpid()}"
    options = Options(
        args.stream,
        args.group,
        consumer,
        args.claim_after,
        args.exit_when_idle,
        retention_s=args.retention,
    )
    metrics = WorkerMetrics()
    if args.metrics_port is not None:
        where = f"--metrics-host {args.metrics_host} --metrics-port {args.metrics_port}"
        try:
            metrics.serve(args.metrics_port, args.metrics_host)
        except OSError as error:
            raise UsageError(f"{where}: {error.strerror or error}") from None
    with stamped_log():
        return _run_worker(args, settings, options, metrics)


def _run_worker(
    args: argparse.Namespace, settings: dict[str, Any], options: Options, metrics: WorkerMetrics
) -> int:
    client = connect(args.redis, f"{CLIENT_NAME}:worker:{options.consumer}")
    try:
        worker = Worker(client, settings, config_for(settings), options, metrics)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda _signum, _frame: worker.request_stop())
        verdict = worker.run()
    except redis.RedisError as error:
        log.error("tiktok-destination: redis: %s", error)
        return EXIT_FAILED
    finally:
        client.close()
    if worker.stop_reason is not None:
        log.error("tiktok-destination: worker stopped: %s", worker.stop_reason)
        log.error(
            "The entries not delivered stay pending in %s. After the fix, start the workers "
            "again (a new token starts afresh; with the same token, first delete the key %s in "
            "Redis).",
            args.stream,
            worker.gate.stop_key,
        )
    else:
        log.info(
            "worker %s done; outcomes in %s, dead entries in %s",
            options.consumer,
            outcomes_stream(args.stream),
            dead_stream(args.stream),
        )
    return EXIT_OK if verdict is Verdict.DONE else EXIT_CONFIG
