"""The worker and enqueue commands, and what workers share: the refused-token stop, the pause."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families
from support.helpers import TOKEN, doc, readme_table
from support.redis_server import RedisServer, free_port
from support.tiktok_server import BodyCode, FakeTikTok, HttpStatus, payload
from support.worker_helpers import (
    STAMP,
    STREAM,
    add_events,
    dead,
    event,
    outcomes,
    pending,
    worker_settings,
)

from tiktok_destination.cli import main as cli
from tiktok_destination.delivery.deliverer import Deliverer
from tiktok_destination.fleet.gate import SharedGate, settings_key
from tiktok_destination.fleet.metrics import WorkerMetrics
from tiktok_destination.fleet.streams import EVENT_FIELD
from tiktok_destination.state import config_for

WAIT_S = 30.0
"""Bound of every wait for a worker process."""


def wait_for(condition: Any, what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Worker processes started by a test; any still running at the end are killed."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def start_worker(
    processes: list[subprocess.Popen[str]],
    settings_path: Path,
    url: str,
    *extra: str,
) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "tiktok_destination", "worker", "--settings"]
    command += [str(settings_path), "--redis", url, "--stream", STREAM, *extra]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    processes.append(process)
    return process


def write_settings(tmp_path: Path, settings: dict[str, Any]) -> Path:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(settings), encoding="utf-8")
    return path


def test_a_refused_token_stops_every_worker_and_leaves_the_entries(
    redis_server: RedisServer,
    redis_client: redis.Redis,
    tiktok: FakeTikTok,
    tmp_path: Path,
    processes: list[subprocess.Popen[str]],
) -> None:
    add_events(redis_client, [event(f"e{i}") for i in range(60)])
    wrong = "tt-wrong-SECRET-token-4242"
    path = write_settings(tmp_path, worker_settings(tiktok, access_token=wrong, batch_size=10))
    workers = [
        start_worker(
            processes, path, redis_server.url, "--consumer", name, "--exit-when-idle", "20"
        )
        for name in ("a", "b")
    ]
    for worker in workers:
        _out, err = worker.communicate(timeout=WAIT_S)
        assert worker.returncode == 4
        assert "access token" in err.lower()
        assert wrong not in err and TOKEN not in err
        assert "Traceback" not in err
    assert 1 <= len(tiktok.requests) <= 2  # each worker sends at most the request that failed
    assert redis_client.xlen(STREAM) == 60  # nothing finished, nothing trimmed
    assert outcomes(redis_client) == [] and dead(redis_client) == []
    # A worker started later does not send at all.
    late = start_worker(processes, path, redis_server.url, "--exit-when-idle", "20")
    _out, err = late.communicate(timeout=WAIT_S)
    assert late.returncode == 4 and "delete the key" in err
    assert len(tiktok.requests) <= 2


@pytest.mark.parametrize(
    ("fault", "pause_s"),
    [
        (HttpStatus(429, retry_after="1"), 1.0),  # the server's Retry-After
        (BodyCode(40100, "Too many requests"), 0.5),  # a code that throttles: the first backoff
    ],
)
def test_throttling_pauses_every_deliverer_of_the_settings(
    redis_client: redis.Redis, tiktok: FakeTikTok, fault: HttpStatus | BodyCode, pause_s: float
) -> None:
    arrived: list[float] = []

    def policy(number: int, _body: Any) -> HttpStatus | BodyCode | None:
        arrived.append(time.monotonic())
        return fault if number == 0 else None

    tiktok.policy = policy
    config = config_for(worker_settings(tiktok)).delivery
    key = settings_key(config.api_url, config.access_token)
    with (
        Deliverer(config, gate=SharedGate(redis_client, key)) as first,
        Deliverer(config, gate=SharedGate(redis_client, key)) as second,
    ):
        [throttled] = first.send([payload("x")])
        assert throttled["status"] == "failed"  # max_retries 0: not retried by this one
        [sent] = second.send([payload("y")])
    assert sent["status"] == "delivered"
    assert len(arrived) == 2
    assert arrived[1] - arrived[0] >= pause_s * 0.9  # the second waited for the first's pause


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_finishes_the_batch_in_flight_then_exits_0(
    signum: int,
    redis_server: RedisServer,
    redis_client: redis.Redis,
    tiktok: FakeTikTok,
    tmp_path: Path,
    processes: list[subprocess.Popen[str]],
) -> None:
    arrived = threading.Event()

    def policy(number: int, _body: Any) -> None:
        if number == 0:  # the first request takes a second: the signal comes meanwhile
            arrived.set()
            time.sleep(1.0)

    tiktok.policy = policy
    add_events(redis_client, [event(f"e{i}") for i in range(50)])
    one_at_a_time = worker_settings(tiktok, batch_size=10, max_concurrent_requests=1)
    worker = start_worker(processes, write_settings(tmp_path, one_at_a_time), redis_server.url)
    assert arrived.wait(WAIT_S)
    worker.send_signal(signum)
    _out, err = worker.communicate(timeout=WAIT_S)
    assert worker.returncode == 0, err
    assert [record["status"] for record in outcomes(redis_client)] == ["delivered"] * 10
    assert len(tiktok.event_ids) == 10
    assert pending(redis_client) == 0
    lag: Any = redis_client.xinfo_groups(STREAM)
    assert lag[0]["lag"] == 40  # it stopped reading


def test_the_metrics_endpoint_counts_delivered_events(
    redis_server: RedisServer,
    redis_client: redis.Redis,
    tiktok: FakeTikTok,
    tmp_path: Path,
    processes: list[subprocess.Popen[str]],
) -> None:
    tiktok.fail_next(HttpStatus(503))
    add_events(redis_client, [event(f"e{i}") for i in range(30)])
    add_events(redis_client, [event("bad", context={"event_timestamp": "never"})])
    path = write_settings(tmp_path, worker_settings(tiktok, batch_size=10))
    port = free_port()
    worker = start_worker(
        processes, path, redis_server.url, "--metrics-port", str(port), "--claim-after", "0.5"
    )

    def samples() -> dict[tuple[str, str], float]:
        try:
            text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        except requests.ConnectionError:
            return {}
        found = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                label = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                found[(sample.name, label)] = sample.value
        return found

    delivered = ("tiktok_destination_events_total", "status=delivered")
    wait_for(lambda: samples().get(delivered) == 30, "30 delivered events in the metrics")
    assert _listening_on(port) == ["0100007F"]  # the default --metrics-host: loopback only
    seen = samples()
    assert seen[("tiktok_destination_events_total", "status=invalid")] == 1
    assert seen[("tiktok_destination_events_total", "status=failed")] == 10
    assert seen[("tiktok_destination_requests_total", "code=503")] == 1
    assert seen[("tiktok_destination_requests_total", "code=0")] == 3
    assert seen[("tiktok_destination_request_seconds_count", "")] == 4
    worker.send_signal(signal.SIGTERM)
    worker.communicate(timeout=WAIT_S)
    assert worker.returncode == 0


def test_enqueue_adds_each_event_and_skips_broken_lines(
    redis_server: RedisServer,
    redis_client: redis.Redis,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    events = tmp_path / "events.jsonl"
    lines = [json.dumps(event("a")), "{broken", "", json.dumps(event("b", value="é"))]
    events.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code = cli.main(["enqueue", "--redis", redis_server.url, "--stream", STREAM, str(events)])
    assert code == 1
    err = capsys.readouterr().err
    assert "line 2: not JSON" in err
    assert "enqueued 2 events" in err
    entries: Any = redis_client.xrange(STREAM)
    assert [json.loads(fields[EVENT_FIELD]) for _id, fields in entries] == [
        event("a"),
        event("b", value="é"),
    ]
    array = tmp_path / "events.json"
    array.write_text(json.dumps([event("c"), event("d")]), encoding="utf-8")
    assert cli.main(["enqueue", "--redis", redis_server.url, str(array)]) == 0
    assert redis_client.xlen("tiktok:events") == 2


def _readme_section() -> str:
    return doc("scaling-out")


def test_the_readme_lists_every_worker_flag_and_metric() -> None:
    section = _readme_section()
    parser = cli.build_parser()
    commands: Any = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    flags = [
        option
        for action in commands["worker"]._actions
        for option in action.option_strings
        if option != "--help" and option.startswith("--")
    ]
    assert [row[0] for row in readme_table("worker flag", section)] == flags
    names = {metric.name for metric in WorkerMetrics().registry.collect()}
    documented = [row[0] for row in readme_table("metric", section)]
    assert {name.removesuffix("_total") for name in documented} == names


def test_the_readme_replay_of_dead_entries_works(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    snippet = _readme_section().split("Replaying dead entries", 1)[1].split("```sh\n", 1)[1]
    snippet = snippet.split("\n```", 1)[0]
    snippet = snippet.replace("redis://redis.internal:6379/0", redis_server.url)
    snippet = snippet.replace("redis-cli", f"redis-cli -p {redis_server.port}")
    snippet = snippet.replace("tiktok-destination", f"{sys.executable} -m tiktok_destination")
    for name in ("a", "b"):
        text = json.dumps(event(name, note='with "quotes" and\nnewline'))
        redis_client.xadd("tiktok:events:dead", {"entry": "1-1", "event": text, "reason": "x"})
    subprocess.run(["bash", "-c", snippet], check=True, timeout=WAIT_S, capture_output=True)
    replayed: Any = redis_client.xrange("tiktok:events")
    assert [json.loads(fields[EVENT_FIELD]) for _id, fields in replayed] == [
        event("a", note='with "quotes" and\nnewline'),
        event("b", note='with "quotes" and\nnewline'),
    ]
    assert redis_client.exists("tiktok:events:dead") == 0


def test_bad_arguments_and_an_unreachable_redis_are_one_line_never_a_traceback(
    tiktok: FakeTikTok, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = str(write_settings(tmp_path, worker_settings(tiktok)))
    for argv in (
        ["enqueue", "--redis", "localhost:6379", "-"],
        ["worker", "--settings", settings, "--redis", "http://x", "--exit-when-idle", "1"],
        ["worker", "--settings", settings, "--redis", "redis://x", "--metrics-port", "99999"],
        ["worker", "--settings", settings, "--redis", "redis://x", "--claim-after", "-1"],
    ):
        with pytest.raises(SystemExit) as stopped:
            cli.main(argv)
        assert stopped.value.code == 2
        assert "error: argument" in capsys.readouterr().err
    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    assert cli.main(["worker", "--settings", settings, "--redis", unreachable]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert STAMP.match(line), line
    assert line.split(" ", 1)[1].startswith("ERROR tiktok-destination: redis: ")
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        argv = ["worker", "--settings", settings, "--redis", unreachable, "--metrics-port", port]
        assert cli.main(argv) == 2
    assert f"--metrics-port {port}: Address already in use" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name", ["a b", "", "a\nb", "a\r\nb", "a\x00b", "a\u2028b", "\ud800", "é", "x" * 201]
)
def test_a_bad_consumer_name_is_one_line_and_exit_2(
    name: str, tiktok: FakeTikTok, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = str(write_settings(tmp_path, worker_settings(tiktok)))
    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(SystemExit) as stopped:
        cli.main(["worker", "--settings", settings, "--redis", unreachable, "--consumer", name])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "error: argument --consumer: expected 1-200 visible ASCII characters" in err
    assert "Traceback" not in err and "redis" not in err.split("error:", 1)[1]


def _listening_on(port: int) -> list[str]:
    """The local addresses (hex, as in /proc/net/tcp) listening on ``port``."""
    found = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if int(hex_port, 16) == port and state == "0A":
            found.append(address)
    return found


def test_the_metrics_are_served_on_loopback_unless_told_otherwise(
    tiktok: FakeTikTok, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    close = WorkerMetrics().serve(port)
    try:
        assert _listening_on(port) == ["0100007F"]  # 127.0.0.1, not every interface
        assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).ok
    finally:
        close()
    settings = str(write_settings(tmp_path, worker_settings(tiktok)))
    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    argv = ["worker", "--settings", settings, "--redis", unreachable, "--metrics-port", str(port)]
    assert cli.main([*argv, "--metrics-host", "no-such-host.invalid"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("tiktok-destination: --metrics-host no-such-host.invalid --metrics")
