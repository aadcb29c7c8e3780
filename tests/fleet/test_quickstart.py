"""The local quickstart of docs/scaling-out.md, run as written in a fresh ``bash``.

The block after ``<!-- quickstart: fleet -->`` runs from the repository root in ``bash -e`` whose
``PATH`` does not hold the virtual environment, with ``TMPDIR`` in the test's folder and free
loopback ports in ``REDIS_PORT`` and ``METRICS_PORT`` (the block's defaults otherwise). It must
exit 0, show what the page says it shows, leave nothing in the repository and stop everything it
started.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

from support.cli_helpers import ROOT
from support.helpers import doc
from support.redis_server import free_port

MARKER = "<!-- quickstart: fleet -->\n```sh\n"
RUN_TIMEOUT_S = 180.0
"""Bound of the whole block (its own waits are bounded too)."""


def quickstart() -> str:
    return doc("scaling-out").split(MARKER, 1)[1].split("\n```", 1)[0]


def fresh_environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    path = [part for part in os.environ["PATH"].split(os.pathsep) if part and part != venv_bin]
    path = [part for part in path if not (Path(part) / "tiktok-destination").exists()]
    return {"PATH": os.pathsep.join(path), "HOME": str(tmp_path), "TMPDIR": str(tmp_path), **extra}


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def emulator_port(tmp_path: Path) -> list[int]:
    """The port of the emulator the block started, from its first line (none if not started)."""
    for path in tmp_path.glob("*/emulator.txt"):
        lines = path.read_text().splitlines()
        if lines:
            return [int(lines[0].rsplit(":", 1)[1])]
    return []


def test_the_fleet_quickstart_runs_as_written(tmp_path: Path) -> None:
    redis_port, metrics_port = free_port(), free_port()
    env = fresh_environment(tmp_path, REDIS_PORT=str(redis_port), METRICS_PORT=str(metrics_port))
    assert subprocess.run(["bash", "-c", "command -v tiktok-destination"], env=env).returncode
    before = set(os.listdir(ROOT))
    process = subprocess.Popen(
        ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", quickstart()],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=RUN_TIMEOUT_S)
        ports = [redis_port, metrics_port, *emulator_port(tmp_path)]
        still_listening = [port for port in ports if listening(port)]
    finally:  # whatever happened, nothing it started outlives the test
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        if process.poll() is None:
            process.communicate(timeout=10)
    assert process.returncode == 0, out + err
    assert set(os.listdir(ROOT)) == before  # nothing left in the repository
    [folder] = [path for path in tmp_path.iterdir() if (path / "w1.log").exists()]
    counts = {m[2]: int(m[1]) for m in re.finditer(r"(?m)^ *(\d+) ([a-z]+)$", out)}
    assert {key: counts.get(key) for key in ("delivered", "invalid", "skipped")} == {
        "delivered": 1000,
        "invalid": 1,
        "skipped": 1,
    }
    lines = out.splitlines()
    assert "worker started: stream tiktok:events" in lines[0]
    assert '"access_token":"(hidden)"' in lines[0] and "any-token" not in out + err
    assert "event_timestamp: expected epoch seconds" in out  # the dead letter's reason
    assert any(line.startswith("tiktok_destination_entries_pending ") for line in lines)
    assert lines.index("1000") > 0  # the emulator kept each event once
    for name in ("w1", "w2"):
        last = (folder / f"{name}.log").read_text().splitlines()[-1]
        done = f"INFO worker {name} done; outcomes in tiktok:events:outcomes, dead entries in "
        assert last.endswith(done + "tiktok:events:dead"), last
    assert len(ports) == 3 and still_listening == []  # everything it started is stopped
