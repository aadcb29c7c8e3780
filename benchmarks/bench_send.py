"""``tiktok-destination send`` against a bare client, side by side, on loopback and 150 ms away.

    python benchmarks/bench_send.py [--events N] [--rounds R] [--memory N [N ...]]

The fake TikTok server (``tests/support/tiktok_server.py``) runs in a process of its own, as
TikTok is another machine: on loopback, and with ``latency_s=0.15`` (every answer 150 ms late,
as over a real network). Each round writes fresh events (``benchmarks/events.py``, a new seed
for every measure) to a JSON Lines file, then times, one after the other:

- ``send``: the command line as a user runs it (``cli.main``, in this process), with
  ``--outcomes`` to a file: the batch hook, buffering, each request encoded as its buffer is
  done, a ``sending`` record before each post and one outcome record per event;
- a bare client: what a hand-written integration does with the library and nothing else: read
  each line, ``json.loads``, the library's ``transform``, batches of 1000 per source, and
  ``requests`` posts, sequentially on loopback and with four requests in flight at 150 ms;
- the same bare client transforming through the batch hook (``destination.transform_events``,
  1000 events a call) instead of ``transform`` per event: what ``send`` itself transforms with.

The ratios the README's targets are written in: on loopback, ``send`` wall time / the bare
client's (target ≤ 1.10; and / the batch-hook bare client's); at 150 ms, ``send`` throughput /
the four-in-flight bare client's (target ≥ 0.8); ``send``'s clock stops when it exits (its
outcomes are counted after). Each client's CPU seconds (this process's, every thread; the fake
server's not counted) are printed too: the fake server shares the machine's cores.

``--memory N ...`` also runs ``send`` on N events in a child process (reading a file, then its
stdin) and prints its peak resident memory (``--events 0`` runs only that). ``--alone CLIENT``
runs only that client on loopback (on ``--events-file``, written beforehand by ``--write-events
PATH``), for a profiler attached to this process (docs/performance.md says how).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from benchmarks.events import SETTINGS, mixed_events  # noqa: E402
from tiktok_destination.cli import main as cli  # noqa: E402
from tiktok_destination.destination import transform_events  # noqa: E402
from tiktok_destination.settings import make_config, schema  # noqa: E402
from tiktok_destination.transform.event import transform  # noqa: E402

TOKEN = "bench-token"
BATCH = 1000
HOOK_CHUNK = 1000
"""Events the batch-hook bare client transforms with one call."""
CHUNK = 50_000
"""Events generated at a time when writing a file (bounds the benchmark's own memory)."""


def _serve(latency_s: float, connection: Connection) -> None:
    """The fake server's process: answers ``count`` with the events received since, then clears."""
    from support.tiktok_server import FakeTikTok

    with FakeTikTok(TOKEN, latency_s=latency_s) as server:
        connection.send(server.url)
        while connection.recv() == "count":
            with server._lock:
                connection.send(len(server.events))
                server.events.clear()
                server.requests.clear()


@contextlib.contextmanager
def fake_server(latency_s: float) -> Iterator[tuple[str, Callable[[], int]]]:
    """The server's URL, and a function returning (and forgetting) the events it recorded."""
    parent, child = multiprocessing.get_context("spawn").Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(latency_s, child), daemon=True
    )
    process.start()
    url: str = parent.recv()

    def received() -> int:
        parent.send("count")
        count: int = parent.recv()
        return count

    try:
        yield url, received
    finally:
        parent.send("stop")
        process.join(10)


def write_events(path: Path, count: int, seed: int) -> None:
    with path.open("w", encoding="utf-8") as stream:
        for start in range(0, count, CHUNK):
            chunk = mixed_events(min(CHUNK, count - start), seed * 1000 + start // CHUNK)
            stream.writelines(json.dumps(event) + "\n" for event in chunk)


def settings_for(url: str) -> dict[str, Any]:
    return {**SETTINGS, "access_token": TOKEN, "api_url": url}


class BareSender:
    """A bare client's posting: ``requests``, batches of 1000 per source, ``in_flight`` at once."""

    def __init__(self, url: str, in_flight: int) -> None:
        self.url = url
        self.in_flight = in_flight
        self.session = requests.Session()
        self.session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=in_flight))
        self.headers = {"Access-Token": TOKEN, "Content-Type": "application/json"}
        self.pool = ThreadPoolExecutor(in_flight)
        self.window: deque[Future[None]] = deque()
        self.groups: dict[tuple[str, str], list[Any]] = {}
        self.posted = 0

    def add(self, outcome: Mapping[str, Any]) -> None:
        """Buffer a transform outcome's event; post its group's buffer once it is full."""
        if outcome["status"] == "ok":
            payload = outcome["payload"]
            head = (payload["event_source"], payload["event_source_id"])
            group = self.groups.setdefault(head, [])
            group.append(payload["data"][0])
            if len(group) == BATCH:
                self._submit(head, self.groups.pop(head))

    def _post(self, head: tuple[str, str], data: list[Any]) -> None:
        body = {"event_source": head[0], "event_source_id": head[1], "data": data}
        encoded = json.dumps(body).encode()
        answer = self.session.post(self.url, data=encoded, headers=self.headers, timeout=60)
        assert answer.json()["code"] == 0, answer.text

    def _submit(self, head: tuple[str, str], data: list[Any]) -> None:
        self.posted += len(data)
        if self.in_flight == 1:
            self._post(head, data)
            return
        if len(self.window) >= self.in_flight:
            self.window.popleft().result()
        self.window.append(self.pool.submit(self._post, head, data))

    def finish(self) -> int:
        """Post what is left, wait for every request; the events posted."""
        for head, group in self.groups.items():
            self._submit(head, group)
        for future in self.window:
            future.result()
        self.pool.shutdown()
        self.session.close()
        return self.posted


def bare_client(events: Path, url: str, in_flight: int) -> int:
    """Read, ``transform`` each event, batch 1000 per source, post ``in_flight`` at once."""
    config = make_config(settings_for(url))
    sender = BareSender(url, in_flight)
    with events.open(encoding="utf-8") as stream:
        for line in stream:
            sender.add(transform(json.loads(line), config, time.time()))
    return sender.finish()


def bare_hook_client(events: Path, url: str, in_flight: int) -> int:
    """The bare client, transforming ``HOOK_CHUNK`` events a call through the batch hook."""
    settings = settings_for(url)
    sender = BareSender(url, in_flight)

    def transform_chunk(chunk: list[Any]) -> None:
        for outcome in transform_events(chunk, settings):
            sender.add(outcome)

    chunk: list[Any] = []
    with events.open(encoding="utf-8") as stream:
        for line in stream:
            chunk.append(json.loads(line))
            if len(chunk) == HOOK_CHUNK:
                transform_chunk(chunk)
                chunk = []
    transform_chunk(chunk)
    return sender.finish()


def send_command(events: Path, url: str, work: Path, concurrency: int | None) -> Path:
    """``tiktok-destination send --settings S EVENTS --outcomes FILE``; the outcomes file."""
    settings = settings_for(url)
    if concurrency is not None and "max_concurrent_requests" in schema()["properties"]:
        settings["max_concurrent_requests"] = concurrency
    settings_path, outcomes = work / "settings.json", work / "outcomes.jsonl"
    settings_path.write_text(json.dumps(settings), encoding="utf-8")
    argv = ["send", "--settings", str(settings_path), str(events), "--outcomes", str(outcomes)]
    with contextlib.redirect_stderr(io.StringIO()):
        code = cli.main(argv)
    assert code == 0, f"send exited {code}"
    return outcomes


def delivered(outcomes: Path) -> int:
    """Events the outcomes file records ``delivered`` (counted after the clock stopped)."""
    with outcomes.open(encoding="utf-8") as stream:
        return sum(json.loads(line)["status"] == "delivered" for line in stream)


CLIENTS = ("send", "bare", "bare-hook")
"""Timed in this order in every round: ``send``, the bare client, the batch-hook bare client."""


def compare(
    latency_s: float, count: int, rounds: int, seed: int, work: Path
) -> tuple[dict[str, float], dict[str, float]]:
    """Best wall seconds of ``send`` and of each bare client, fresh events for each run, and
    their best CPU seconds (this process's, every thread: the fake server's are not counted)."""
    in_flight = 1 if latency_s == 0 else 4
    best = dict.fromkeys(CLIENTS, float("inf"))
    cpu = dict.fromkeys(CLIENTS, float("inf"))
    with fake_server(latency_s) as (url, received):
        for round_ in range(rounds):
            for index, label in enumerate(CLIENTS):
                events = work / "events.jsonl"
                write_events(events, count, seed + 10 * round_ + index)
                received()
                start, start_cpu = time.perf_counter(), time.process_time()
                if label == "send":
                    outcomes = send_command(events, url, work, None)
                else:
                    client = bare_client if label == "bare" else bare_hook_client
                    sent = client(events, url, in_flight)
                elapsed, used = time.perf_counter() - start, time.process_time() - start_cpu
                if label == "send":
                    sent = delivered(outcomes)
                arrived = received()
                assert arrived == sent == count, (label, arrived, sent, count)
                best[label] = min(best[label], elapsed)
                cpu[label] = min(cpu[label], used)
    return best, cpu


CHILD = """
import sys
from tiktok_destination.cli import main as cli
code = cli.main(sys.argv[2:])
with open("/proc/self/status") as status:  # the high-water mark of this process's own memory
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
with open(sys.argv[1], "w") as out:
    out.write(f"{code} {peak}")
"""
"""``send`` in a child process that reports its exit code and peak resident memory (VmHWM, in
kB, read as it ends: ``ru_maxrss`` of a child also counts the process that forked it)."""


def peak_memory(count: int, seed: int, work: Path) -> tuple[float, float]:
    """Peak resident memory (MB) of ``send`` over ``count`` events, in a child process: the
    events read from a file, then from a pipe on its stdin."""
    events = work / "million.jsonl"
    write_events(events, count, seed)
    report = work / "peak.txt"
    peaks = []
    with fake_server(0.0) as (url, received):
        settings = work / "settings.json"
        settings.write_text(json.dumps(settings_for(url)), encoding="utf-8")
        command = [sys.executable, "-c", CHILD, str(report), "send", "--settings", str(settings)]
        for source in (str(events), "-"):
            outcomes = work / "outcomes-memory.jsonl"  # (a regular file: send refuses others)
            argv = [*command, source, "--outcomes", str(outcomes)]
            cat = subprocess.Popen(["cat", str(events)], stdout=subprocess.PIPE)  # a pipe
            process = subprocess.Popen(argv, cwd=ROOT, stdin=cat.stdout, stderr=subprocess.DEVNULL)
            assert cat.stdout is not None
            cat.stdout.close()  # the child's now
            while process.poll() is None:
                received()  # the server forgets what it recorded: its memory stays flat
                time.sleep(0.5)
            cat.wait(10)
            code, peak = report.read_text().split()
            assert process.returncode == 0 and code == "0", f"send exited {code}"
            peaks.append(int(peak) / 1024)
            outcomes.unlink()
    events.unlink()
    return peaks[0], peaks[1]


def _times(count: int, best: dict[str, float], cpu: dict[str, float]) -> None:
    names = {"send": "send", "bare": "bare client", "bare-hook": "bare, batch hook"}
    for label in CLIENTS:
        seconds = best[label]
        print(
            f"  {names[label]:<17} {seconds:6.2f} s  {count / seconds:9,.0f} events/s  "
            f"(CPU {cpu[label]:5.2f} s, {cpu[label] / count * 1e6:5.1f} µs/event)"
        )


def compare_both(args: argparse.Namespace, work: Path) -> None:
    print(f"{args.events:,} fresh events per run, best of {args.rounds} rounds")
    best, cpu = compare(0.0, args.events, args.rounds, args.seed, work)
    print("\nloopback (bare clients: one request at a time):")
    _times(args.events, best, cpu)
    send_s = best["send"]
    print(f"  send / bare client wall time: {send_s / best['bare']:.2f}  (target ≤ 1.10)")
    print(f"  send / batch-hook bare client wall time: {send_s / best['bare-hook']:.2f}")
    print(f"  send / bare client CPU time: {cpu['send'] / cpu['bare']:.2f}")
    best, cpu = compare(0.15, args.events, args.rounds, args.seed + 5000, work)
    print("\n150 ms away (bare clients: four requests in flight):")
    _times(args.events, best, cpu)
    send_s = best["send"]
    print(f"  send / bare client throughput: {best['bare'] / send_s:.2f}  (target ≥ 0.8)")
    print(f"  send / batch-hook bare client throughput: {best['bare-hook'] / send_s:.2f}")


def alone(args: argparse.Namespace, work: Path) -> None:
    """One client alone on loopback, ``rounds`` times, for a profiler attached to this process
    (``py-spy record --threads``, ``valgrind --tool=callgrind``): every events file is written
    before the first run (or read from ``--events-file``, so that writing it is not measured)."""
    if args.events_file:
        files = [Path(args.events_file)] * args.rounds
        with files[0].open("rb") as stream:
            count = sum(1 for _ in stream)
    else:
        files, count = [], args.events
        for round_ in range(args.rounds):
            files.append(work / f"events-{round_}.jsonl")
            write_events(files[-1], count, args.seed + 10 * round_)
    with fake_server(0.0) as (url, received):
        for events in files:
            received()
            start = time.perf_counter()
            if args.alone == "send":
                outcomes = send_command(events, url, work, None)
            else:
                client = bare_client if args.alone == "bare" else bare_hook_client
                sent = client(events, url, 1)
            elapsed = time.perf_counter() - start
            if args.alone == "send":  # (counted without a Python loop: a profile barely sees it)
                sent = outcomes.read_bytes().count(b'"status": "delivered"')
            assert received() == sent == count, (sent, count)
            print(f"{args.alone} {elapsed:6.2f} s  {count / elapsed:9,.0f} events/s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000, help="events per run (0: none)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the best counts")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--alone", choices=CLIENTS, help="only this client, on loopback (for a profiler)"
    )
    parser.add_argument("--events-file", help="with --alone: the events to send (JSON Lines)")
    parser.add_argument("--write-events", metavar="PATH", help="only write --events events there")
    parser.add_argument(
        "--memory", type=int, nargs="*", default=[], metavar="N", help="peak memory of N events"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        if args.write_events:
            write_events(Path(args.write_events), args.events, args.seed)
        elif args.alone:
            alone(args, work)
        elif args.events:
            compare_both(args, work)
        for count in args.memory:
            from_file, from_stdin = peak_memory(count, args.seed + 9000, work)
            print(
                f"send of {count:,} events: peak resident memory {from_file:,.0f} MB "
                f"from a file, {from_stdin:,.0f} MB from stdin"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
