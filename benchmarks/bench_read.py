"""Peak memory of the command line reading the same events as JSON Lines and as one JSON array.

Run: ``python benchmarks/bench_read.py [EVENTS]`` (default 25,000 events, about 19 MB). Writes
the realistic event mix of ``benchmarks/events.py`` both ways into a temporary folder, runs
``tiktok-destination transform`` on each in a process of its own (outcomes to ``/dev/null``) and
prints each run's peak resident memory (``ru_maxrss`` of the child) side by side, with the
ratio. A reader that streams the array stays close to the JSON Lines figure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from benchmarks.events import mixed_events  # noqa: E402

SETTINGS_AND_EVENTS = ("settings.json", "events.jsonl", "events.json")
SETTINGS = {
    "access_token": "not-used",
    "pixel_id": "PIXEL",
    "app_id": "APP",
    "autodiscover_event_source": True,
}


def peak_mib(argv: list[str]) -> float:
    """Run ``argv`` with stdout to /dev/null; the child's peak resident memory in MiB."""
    with open(os.devnull, "wb") as sink:
        process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.PIPE)
        _pid, status, usage = os.wait4(process.pid, 0)
    stderr = process.stderr.read().decode() if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv} failed: {stderr}")
    return usage.ru_maxrss / 1024  # kilobytes on Linux


def write_inputs(folder: str, count: int) -> None:
    """The settings and the events, both ways (run in a child: Linux counts a parent's memory
    in the peak of the children it forks afterwards)."""
    events = mixed_events(count, seed=7)
    Path(folder, "settings.json").write_text(json.dumps(SETTINGS), encoding="utf-8")
    lines = "".join(json.dumps(e) + "\n" for e in events)
    Path(folder, "events.jsonl").write_text(lines, encoding="utf-8")
    Path(folder, "events.json").write_text(json.dumps(events), encoding="utf-8")


def main() -> None:
    if sys.argv[1:2] == ["--write"]:
        write_inputs(sys.argv[2], int(sys.argv[3]))
        return
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 25_000
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([sys.executable, __file__, "--write", folder, str(count)], check=True)
        settings, lines, array = (Path(folder, name) for name in SETTINGS_AND_EVENTS)
        size_mb = array.stat().st_size / 1e6
        command = [sys.executable, "-m", "tiktok_destination", "transform", "--settings"]
        baseline = peak_mib([sys.executable, "-c", "import tiktok_destination.cli.main"])
        jsonl = peak_mib([*command, str(settings), str(lines)])
        whole = peak_mib([*command, str(settings), str(array)])
    print(f"{count:,} events, {size_mb:.1f} MB as one JSON array (one line)")
    print(f"{'interpreter + imports':<28}{baseline:8.1f} MiB")
    print(f"{'transform, JSON Lines':<28}{jsonl:8.1f} MiB")
    print(f"{'transform, JSON array':<28}{whole:8.1f} MiB   ({whole / jsonl:.2f}x JSON Lines)")


if __name__ == "__main__":
    main()
