"""Helpers for the command-line tests: event files, settings files, the CLI in a subprocess."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

from support.helpers import TOKEN
from support.tiktok_server import FakeTikTok

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 30
"""Bound on every wait for a subprocess."""


def purchase(n: int) -> dict[str, Any]:
    return {
        "event_name": "purchase",
        "id": f"order-{n}",
        "value": n,
        "currency": "EUR",
        "context": {"event_timestamp": 1700000000 + n},
        "user": {"email": f"u{n}@example.com"},
    }


def write_events(path: Path, events: list[Any]) -> str:
    """One JSON line per event (a ``str`` or ``bytes`` is written as the line itself)."""
    lines = [
        e if isinstance(e, bytes) else (e if isinstance(e, str) else json.dumps(e)).encode()
        for e in events
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return str(path)


def write_settings(path: Path, tiktok: FakeTikTok | None = None, **extra: Any) -> str:
    settings: dict[str, Any] = {"access_token": TOKEN, "pixel_id": "PIXEL", **extra}
    if tiktok is not None:
        settings["api_url"] = tiktok.url
    path.write_text(json.dumps(settings), encoding="utf-8")
    return str(path)


def read_outcomes(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def final(records: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The latest record of each line that is an outcome (``sending`` marks left out)."""
    latest: dict[int, dict[str, Any]] = {}
    for record in records:
        if record["status"] != "sending":
            latest[record["line"]] = record
    return latest


def cli_command(*argv: str, ignore_sigint: bool = False) -> list[str]:
    """The command line for ``tiktok-destination argv``.

    ``ignore_sigint``: start it as a shell starts a background job (``cmd &``), with SIGINT
    ignored; the command must still stop on SIGINT.
    """
    command = [sys.executable, "-m", "tiktok_destination", *argv]
    if ignore_sigint:
        return ["sh", "-c", 'trap "" INT; exec "$@"', "sh", *command]
    return command


def run_cli(*argv: str, stdin: bytes | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the command to its end (bounded); stdout and stderr captured as text."""
    return subprocess.run(
        cli_command(*argv),
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
        env={**os.environ, **env},
        check=False,
    )


def start_cli(*argv: str, stdin: Any = None, **options: Any) -> subprocess.Popen[str]:
    """The command in a process of its own (stdout dropped, stderr piped), SIGINT ignored."""
    return subprocess.Popen(
        cli_command(*argv, ignore_sigint=True),
        stdin=stdin,
        stdout=options.pop("stdout", subprocess.DEVNULL),
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **options.pop("env", {})},
        **options,
    )


BLOCKING_OUTCOMES = """
import os, sys
from tiktok_destination.cli import outcome_log
from tiktok_destination.cli.main import main
opened = outcome_log.OutcomeLog.__init__
def into_the_pipe(self, path, *, append):
    opened(self, path, append=append)
    pipe = os.open(sys.argv[1], os.O_WRONLY)
    os.dup2(pipe, self._fd)
    os.close(pipe)
outcome_log.OutcomeLog.__init__ = into_the_pipe
sys.exit(main(sys.argv[2:]))
"""


def start_cli_writing_to_a_pipe(fifo: Path, *argv: str) -> subprocess.Popen[str]:
    """``start_cli``, but the outcomes file, once opened (a regular file: ``send`` takes no
    other), is written into the FIFO ``fifo`` instead: a file whose writes block."""
    command = [sys.executable, "-c", BLOCKING_OUTCOMES, str(fifo), *argv]
    return subprocess.Popen(
        ["sh", "-c", 'trap "" INT; exec "$@"', "sh", *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def no_traceback(stderr: str) -> bool:
    return "Traceback" not in stderr and "Exception ignored" not in stderr


def read_line(stream: IO[str]) -> str:
    """The next line ``stream`` (a child's pipe) gets, waiting at most ``WAIT_S`` for it.

    Read a byte at a time from the pipe itself, so nothing is left in a buffer ``select`` cannot
    see; use it for every read of that pipe.
    """
    data = b""
    deadline = time.monotonic() + WAIT_S
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        assert left > 0 and select.select([stream], [], [], left)[0], f"no line after {data!r}"
        byte = os.read(stream.fileno(), 1)
        if not byte:
            break
        data += byte
    return data.decode()


def on_a_terminal(argv: list[str], *, columns: int = 120, interrupt_on: str | None = None) -> str:
    """What the command showed on its terminal (stderr on a pty, ``columns`` wide); with
    ``interrupt_on``, Ctrl-C (SIGINT) once that text was shown."""
    import fcntl
    import pty
    import struct
    import termios

    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    process = subprocess.Popen(
        cli_command(*argv), stdout=subprocess.DEVNULL, stderr=terminal, stdin=subprocess.DEVNULL
    )
    os.close(terminal)
    shown, interrupted = b"", False
    deadline = time.monotonic() + WAIT_S
    try:
        while time.monotonic() < deadline:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            shown += chunk
            if interrupt_on and not interrupted and interrupt_on.encode() in shown:
                process.send_signal(signal.SIGINT)
                interrupted = True
        assert interrupt_on is None or interrupted, shown
        process.wait(timeout=WAIT_S)
    finally:
        process.kill()
        process.wait(timeout=WAIT_S)
        os.close(controller)
    return shown.decode(errors="replace")
