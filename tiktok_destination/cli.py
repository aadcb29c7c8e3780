"""The command line: ``schema``, ``check-settings``, ``transform`` and ``send``.

It goes through the same hooks a host calls, on a plugin manager of its own.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import stat
import sys
from collections.abc import Iterable, Sequence
from typing import IO, Any, TextIO

import pluggy

from tiktok_destination import hookspecs, plugin, worker_cli
from tiktok_destination import settings as settings_module
from tiktok_destination.records import NotJson, open_events, read_records
from tiktok_destination.sending import MAX_WAIT_S, SendRun, with_ticks

EXIT_OK, EXIT_NOT_ALL_DONE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """Bad arguments or settings: printed to stderr, exit 2."""


def plugin_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    manager.register(plugin, name="tiktok")
    return manager


def dump(value: Any, stream: TextIO) -> None:
    stream.write(json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n")


def load_settings(path: str, *, check: bool = True) -> dict[str, Any]:
    """Settings from a JSON file, ``TIKTOK_ACCESS_TOKEN`` filling in a missing token."""
    try:
        with open(path, encoding="utf-8") as stream:
            loaded = json.load(stream)
    except OSError as error:
        raise UsageError(f"{path}: cannot read settings ({error.strerror})") from None
    except ValueError as error:
        raise UsageError(f"{path}: settings are not JSON ({error})") from None
    if isinstance(loaded, dict) and "access_token" not in loaded:
        token = os.environ.get(settings_module.TOKEN_ENV)
        if token:
            loaded["access_token"] = token
    problems = plugin_manager().hook.cdp_destination_validate_settings(
        destination="tiktok", settings=loaded
    )
    if check and problems:
        raise UsageError("invalid settings:\n" + "\n".join(f"  {problem}" for problem in problems))
    return loaded if isinstance(loaded, dict) else {}


def cmd_schema(_args: argparse.Namespace) -> int:
    json.dump(settings_module.schema(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return EXIT_OK


def cmd_check_settings(args: argparse.Namespace) -> int:
    load_settings(args.settings)
    print(f"{args.settings}: settings are valid", file=sys.stderr)
    return EXIT_OK


def cmd_transform(args: argparse.Namespace) -> int:
    settings = load_settings(args.settings)
    hook = plugin_manager().hook
    any_invalid = False
    with open_events(args.events) as stream:
        for _line, event in read_records(stream):
            if isinstance(event, NotJson):
                outcome: dict[str, Any] = {"status": "invalid", "error": event.message}
            else:
                outcome = hook.cdp_destination_transform(
                    destination="tiktok", event=event, settings=settings
                )
            any_invalid |= outcome["status"] == "invalid"
            dump(outcome, sys.stdout)
    return EXIT_NOT_ALL_DONE if args.strict and any_invalid else EXIT_OK


def cmd_send(args: argparse.Namespace) -> int:
    settings = load_settings(args.settings)
    run = SendRun(
        plugin_manager().hook, settings, outcomes_path=args.outcomes, dry_run=args.dry_run
    )
    with open_events(args.events) as stream:
        records: Iterable[Any] = read_records(stream)
        if not _is_regular_file(stream):  # a stream may pause: don't keep events waiting
            records = with_ticks(records, MAX_WAIT_S / 2)
        finished = run.run(records)
    if not finished:
        return EXIT_INTERRUPTED
    return EXIT_OK if run.all_done() else EXIT_NOT_ALL_DONE


def _is_regular_file(stream: IO[str]) -> bool:
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, io.UnsupportedOperation):
        return False


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tiktok-destination",
        description="Map CDP events to TikTok Events API 2.0 requests, and deliver them.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("schema", help="print the settings JSON Schema").set_defaults(
        run=cmd_schema
    )
    check = commands.add_parser(
        "check-settings", help="validate a settings file (exit 2 if invalid)"
    )
    check.add_argument("settings", metavar="SETTINGS.json")
    check.set_defaults(run=cmd_check_settings)
    for name, run, text in (
        ("transform", cmd_transform, "print one transform outcome per event, as JSON Lines"),
        ("send", cmd_send, "transform and deliver events to TikTok"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("--settings", required=True, metavar="SETTINGS.json")
        command.add_argument(
            "events",
            nargs="?",
            metavar="EVENTS",
            help="JSON Lines or a JSON array; - or absent: stdin",
        )
        command.set_defaults(run=run)
        if name == "transform":
            command.add_argument(
                "--strict", action="store_true", help="exit 1 when any event is invalid"
            )
        if name == "send":
            command.add_argument(
                "--outcomes", metavar="FILE", help="write every outcome as JSON Lines"
            )
            command.add_argument(
                "--dry-run", action="store_true", help="print the requests instead of sending them"
            )
    worker_cli.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except UsageError as error:
        print(f"tiktok-destination: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    return code


if __name__ == "__main__":
    sys.exit(main())
