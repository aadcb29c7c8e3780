"""The progress bar of ``send`` on a real pseudo-terminal: Ctrl-C's message on a line of its
own, and on ``--resume`` the lines passed over counted apart from those read to send."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from support.cli_helpers import (
    WAIT_S,
    cli_command,
    on_a_terminal,
    purchase,
    write_events,
    write_settings,
)
from support.helpers import TOKEN
from support.tiktok_server import FakeTikTok


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
