"""The progress bar of ``send`` on a real pseudo-terminal: Ctrl-C's message on a line of its
own, and on ``--resume`` the lines passed over counted apart from those read to send."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

from support.cli_helpers import WAIT_S, cli_command, purchase, write_events, write_settings
from support.helpers import TOKEN
from support.tiktok_server import FakeTikTok


def on_a_terminal(argv: list[str], *, interrupt_on: str | None = None) -> str:
    """What the command showed on its terminal (stderr on a pty, 120 columns); with
    ``interrupt_on``, Ctrl-C (SIGINT) once that text was shown."""
    import fcntl
    import pty
    import struct
    import termios

    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
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


def test_the_ctrl_c_message_lands_on_a_line_of_its_own(tmp_path: Path) -> None:
    with FakeTikTok(TOKEN, latency_s=0.3) as tiktok:
        settings = write_settings(tmp_path / "s.json", tiktok, batch_size=10)
        events = write_events(tmp_path / "e.jsonl", [purchase(n) for n in range(3000)])
        shown = on_a_terminal(["send", "--settings", settings, events], interrupt_on="%|")
    assert "%|" in shown
    message = "interrupted: the events not sent are recorded as failed"
    assert re.search(rf"(^|[\r\n]){re.escape(message)}", shown), shown[-600:]
    # and the terminal line it lands on holds nothing of the bar
    line = re.split(r"[\r\n]", shown.split(message, 1)[0])[-1]
    assert line == "", repr(line)


def test_on_resume_the_bar_counts_the_lines_passed_over(tmp_path: Path) -> None:
    with FakeTikTok(TOKEN, latency_s=0.3) as tiktok:
        events, out = tmp_path / "e.jsonl", str(tmp_path / "out.jsonl")
        finished = [purchase(n) for n in range(2000)]
        write_events(events, finished)
        settings = write_settings(tmp_path / "s.json", tiktok, batch_size=1000)
        first = subprocess.run(
            cli_command("send", "--settings", settings, str(events), "--outcomes", out),
            capture_output=True,
            timeout=WAIT_S,
            check=False,
        )
        assert first.returncode == 0, first.stderr
        # the file grows by 300 events, sent 10 a request: seconds of bar after the 2,000
        write_events(events, [*finished, *(purchase(n) for n in range(5000, 5300))])
        settings = write_settings(tmp_path / "s.json", tiktok, batch_size=10)
        shown = on_a_terminal(
            ["send", "--settings", settings, str(events), "--outcomes", out, "--resume"]
        )
    moved = [line for line in shown.split("\r") if "%|" in line and not line.startswith("  0%")]
    assert moved, shown
    assert all("passed over 2,000" in bar for bar in moved), moved
    assert "read 300: ok 300" in shown and "2,000 lines finished by an earlier run" in shown
