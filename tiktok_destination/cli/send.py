"""The ``send`` subcommand: arguments, the files it opens (refusing to overwrite an input), the
exit code. The run itself is ``sending.SendRun``."""

from __future__ import annotations

import argparse
import contextlib
import os
import stat
import sys
from collections.abc import Iterator
from typing import IO, Any

from tiktok_destination import signals
from tiktok_destination.cli.event_files import EventLines, open_events
from tiktok_destination.cli.exits import EXIT_FAILED, UsageError, send_exit_code
from tiktok_destination.cli.outcome_log import OutcomeLog
from tiktok_destination.cli.resume import Finished, read_finished
from tiktok_destination.cli.send_input import chunked, with_ticks
from tiktok_destination.cli.send_run import InputLine, SendRun
from tiktok_destination.cli.settings_file import load_settings
from tiktok_destination.delivery.batching import MAX_WAIT_S


def register(commands: Any) -> None:
    from tiktok_destination.cli.host import add_events_arguments

    command = commands.add_parser("send", help="transform and deliver events to TikTok")
    add_events_arguments(command)
    command.add_argument("--outcomes", metavar="FILE", help="write every outcome as JSON Lines")
    command.add_argument(
        "--resume",
        action="store_true",
        help="pass over the lines FILE records as finished, send the rest, append to FILE",
    )
    command.add_argument(
        "--dry-run", action="store_true", help="print the requests instead of sending them"
    )
    command.set_defaults(run=cmd_send)


def _regular_size(stream: IO[bytes]) -> int | None:
    """The size of ``stream`` when it is a regular file, else ``None``."""
    try:
        status = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None


def _refuse_inputs_as_outcomes(path: str, inputs: list[os.stat_result]) -> None:
    try:
        target = os.stat(path)
    except OSError:
        return  # not there yet: it cannot be an input
    if any((target.st_dev, target.st_ino) == (i.st_dev, i.st_ino) for i in inputs):
        raise UsageError(f"--outcomes {path}: that is an input of this command; name a new file")


def _open_outcomes(args: argparse.Namespace, events: IO[bytes]) -> OutcomeLog | None:
    """The outcomes file, locked for this run (``OutcomeLog`` refuses what it must)."""
    if not args.outcomes:
        return None
    inputs = [os.stat(args.settings)]
    with contextlib.suppress(OSError, ValueError, AttributeError):
        inputs.append(os.fstat(events.fileno()))
    _refuse_inputs_as_outcomes(args.outcomes, inputs)
    return OutcomeLog(args.outcomes, append=args.resume)


def _read_finished(outcomes: OutcomeLog, err: IO[str]) -> Finished:
    """What the outcomes file of the run to resume finished; a warning for damaged records."""
    with outcomes.read_back() as stream:
        finished = read_finished(stream)
    if finished.unreadable:
        print(
            f"warning: {finished.unreadable} records of {outcomes.path} could not be read "
            "(damaged); their lines are sent again unless a later record finished them",
            file=err,
        )
    return finished


def cmd_send(args: argparse.Namespace) -> int:
    if args.resume and not args.outcomes:
        raise UsageError("--resume needs --outcomes FILE: the outcomes of the run to resume")
    settings = load_settings(args.settings, sending=not args.dry_run, err=sys.stderr)
    from tiktok_destination.cli.host import plugin_manager

    with open_events(args.events) as stream:
        outcomes = _open_outcomes(args, stream)
        try:
            finished = _read_finished(outcomes, sys.stderr) if outcomes and args.resume else None
            run = SendRun(
                plugin_manager().hook,
                settings,
                outcomes=outcomes,
                dry_run=args.dry_run,
                finished=finished,
            )
            reader = EventLines(stream)
            run.position = lambda: reader.position
            size = _regular_size(stream)
            # a line's hash only goes into the outcomes file (for --resume)
            lines: Iterator[InputLine] = iter(reader) if outcomes is None else reader.hashed()
            # a stream may pause: don't keep events waiting
            chunks = chunked(lines) if size is not None else with_ticks(lines, MAX_WAIT_S / 2)
            run.run(chunks, total_bytes=size)
        finally:
            if outcomes is not None:
                outcomes.close()
    if run.stopped_by is not None:
        return signals.exit_code(run.stopped_by)
    if run.not_written is not None:
        return EXIT_FAILED
    return send_exit_code(run.final_counts(), config_refused=run.refused is not None)
