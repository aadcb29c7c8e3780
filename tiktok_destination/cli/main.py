"""The command line: schema, check-settings, transform, send, enqueue, worker, emulate, report.

It goes through the same hooks a host calls, on a plugin manager of its own. Each command
module registers its subcommand (``COMMANDS``); ``main`` turns every expected failure into
one line on stderr and an exit code (``exits``), never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from tiktok_destination import __version__, signals, variant
from tiktok_destination import settings as settings_module
from tiktok_destination.cli import emulator, fleet, report, send
from tiktok_destination.cli.event_files import open_events, read_lines
from tiktok_destination.cli.exits import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError
from tiktok_destination.cli.host import add_events_arguments, plugin_manager
from tiktok_destination.cli.settings_file import (
    TOKEN_ENV,
    load_settings,
    read_settings_file,
    token_source,
)
from tiktok_destination.facts import NAME
from tiktok_destination.transform.event_ids import outcome_event_id
from tiktok_destination.transform.event_text import NotJson

Subcommands = Any  # argparse's private _SubParsersAction
STRICT_EXIT = EXIT_FAILED
"""``transform --strict`` when some event is invalid."""


def encode_line(value: Any) -> str:
    """One JSON line; ``ValueError`` for what JSON cannot carry (NaN, a lone surrogate)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text.encode("utf-8")
    return text + "\n"


def cmd_schema(_args: argparse.Namespace) -> int:
    json.dump(settings_module.schema(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return EXIT_OK


def cmd_check_settings(args: argparse.Namespace) -> int:
    load_settings(args.settings, sending=False)
    print(f"{args.settings}: settings are valid", file=sys.stderr)
    source = token_source(args.settings, read_settings_file(args.settings))
    if source is None:
        print(f"note: no access token; send needs {TOKEN_ENV} or access_token", file=sys.stderr)
    else:
        print(f"access token: {source}", file=sys.stderr)
    return EXIT_OK


def transform_line(hook: Any, settings: dict[str, Any], line: int, event: Any) -> dict[str, Any]:
    """The outcome of one input line, with its ``line`` and ``event_id``."""
    if isinstance(event, NotJson):
        return {"line": line, "event_id": None, "status": "invalid", "error": event.message}
    outcome = hook.cdp_destination_transform(destination=NAME, event=event, settings=settings)
    return {"line": line, "event_id": outcome_event_id(event, outcome), **outcome}


def cmd_transform(args: argparse.Namespace) -> int:
    settings = load_settings(args.settings, sending=False)
    hook = plugin_manager().hook
    any_invalid = False
    with open_events(args.events) as stream:
        for line, event in read_lines(stream):
            outcome = transform_line(hook, settings, line, event)
            try:
                text = encode_line(outcome)
            except ValueError as error:
                why = f"payload: cannot be written as UTF-8 JSON ({type(error).__name__})"
                outcome = {"line": line, "event_id": None, "status": "invalid", "error": why}
                text = encode_line(outcome)
            any_invalid |= outcome["status"] == "invalid"
            sys.stdout.write(text)
    return STRICT_EXIT if args.strict and any_invalid else EXIT_OK


def register_basics(commands: Subcommands) -> None:
    commands.add_parser("schema", help="print the settings JSON Schema").set_defaults(
        run=cmd_schema
    )
    check = commands.add_parser(
        "check-settings", help="validate a settings file (exit 2 if invalid)"
    )
    check.add_argument("settings", metavar="SETTINGS.json")
    check.set_defaults(run=cmd_check_settings)
    transform = commands.add_parser(
        "transform", help="print one transform outcome per event, as JSON Lines"
    )
    add_events_arguments(transform)
    transform.add_argument("--strict", action="store_true", help="exit 1 when any event is invalid")
    transform.set_defaults(run=cmd_transform)


def _commands() -> list[Callable[[Subcommands], None]]:
    return [register_basics, send.register, fleet.add_commands, emulator.register, report.register]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tiktok-destination",
        description="Map CDP events to TikTok Events API 2.0 requests, and deliver them.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__} ({variant.describe()})"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for register in _commands():
        register(commands)
    return parser


def _say(problem: str) -> None:
    print(f"tiktok-destination: {problem}", file=sys.stderr)


def _drop_stdout() -> None:
    """After stdout failed, point it at /dev/null so the exit's flush fails no more."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with signals.handling_stops():
            code: int = args.run(args)
            sys.stdout.flush()
    except UsageError as error:
        _say(str(error))
        return EXIT_USAGE
    except KeyboardInterrupt as stop:
        _say("interrupted")
        return signals.exit_code(stop)
    except BrokenPipeError:
        _drop_stdout()
        return EXIT_OK
    except OSError as error:
        where = f": {error.filename}" if error.filename else " (output)"
        _say(f"stopped: {error.strerror or error}{where}")
        _drop_stdout()
        return EXIT_FAILED
    return code


if __name__ == "__main__":
    sys.exit(main())
