"""``tiktok-destination report``: how well the events will match, before anything is sent.

Each event is transformed as ``send`` would; for each ``(event_source, TikTok event)`` the
report counts the events and the share carrying each match key TikTok uses (``MATCH_KEYS``,
read from the payload's ``user`` section, and the name and address keys whenever a payload
carries them), plus the skipped and invalid events with their most frequent reasons. A table by
default, one JSON object with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from tiktok_destination.cli.event_files import ParsedLine
from tiktok_destination.facts import NAME
from tiktok_destination.transform.event_text import NotJson


class MatchKey(NamedTuple):
    """A match key as the report names it: the ``user`` keys behind it, all or any needed."""

    name: str
    user_keys: tuple[str, ...]
    needs_all: bool = True


MATCH_KEYS = (
    MatchKey("email", ("email",)),
    MatchKey("phone", ("phone",)),
    MatchKey("external_id", ("external_id",)),
    MatchKey("ttclid", ("ttclid",)),
    MatchKey("ttp", ("ttp",)),
    MatchKey("ip+user_agent", ("ip", "user_agent")),
    MatchKey("idfa/gaid", ("idfa", "gaid"), needs_all=False),
)
NAME_KEYS = ("first_name", "last_name", "zip_code", "city", "state", "country")
"""Name and address keys: reported when some payload's ``user`` carries them."""
TOP_REASONS = 5
_PLACE = re.compile(r"^(line|element) \d+: ")


def _reason(text: str) -> str:
    """A reason without its place in the file, so equal problems count together."""
    return _PLACE.sub("", text)[:200]


def _has(user: dict[str, Any], key: MatchKey) -> bool:
    found = [user.get(name) not in (None, "", [], {}) for name in key.user_keys]
    return all(found) if key.needs_all else any(found)


@dataclass
class _Group:
    events: int = 0
    keys: Counter[str] = field(default_factory=Counter)


@dataclass
class Report:
    """The counts, fed one transform outcome at a time."""

    read: int = 0
    groups: dict[tuple[str, str], _Group] = field(default_factory=dict)
    reasons: dict[str, Counter[str]] = field(
        default_factory=lambda: {"skipped": Counter(), "invalid": Counter()}
    )
    name_keys: set[str] = field(default_factory=set)

    def add(self, outcome: dict[str, Any]) -> None:
        self.read += 1
        if outcome["status"] != "ok":
            text = outcome.get("reason") or outcome.get("error") or ""
            self.reasons[outcome["status"]][_reason(text)] += 1
            return
        payload = outcome["payload"]
        event = payload["data"][0]
        user = event.get("user") if isinstance(event.get("user"), dict) else {}
        group = self.groups.setdefault((payload["event_source"], event["event"]), _Group())
        group.events += 1
        for key in MATCH_KEYS:
            group.keys[key.name] += _has(user, key)
        for name in NAME_KEYS:
            if user.get(name) not in (None, "", []):
                group.keys[name] += 1
                self.name_keys.add(name)

    def key_names(self) -> list[str]:
        return [key.name for key in MATCH_KEYS] + [n for n in NAME_KEYS if n in self.name_keys]

    def as_json(self) -> dict[str, Any]:
        ordered = sorted(self.groups.items(), key=lambda item: (-item[1].events, item[0]))
        return {
            "events": self.read,
            "groups": [
                {
                    "event_source": source,
                    "event": event,
                    "events": group.events,
                    "match_keys": {
                        name: round(group.keys[name] / group.events, 3) for name in self.key_names()
                    },
                }
                for (source, event), group in ordered
            ],
            **{
                status: {
                    "events": sum(counted.values()),
                    "reasons": [
                        {"reason": reason, "events": n}
                        for reason, n in counted.most_common(TOP_REASONS)
                    ],
                }
                for status, counted in self.reasons.items()
            },
        }

    def as_table(self) -> str:
        data = self.as_json()
        names = self.key_names()
        header = ["event_source", "event", "events", *names]
        rows = [
            [g["event_source"], g["event"], str(g["events"])]
            + [f"{g['match_keys'][name]:.0%}" for name in names]
            for g in data["groups"]
        ]
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        lines = [
            "  ".join(
                cell.ljust(w) if i < 2 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
            for row in [header, *rows]
        ]
        lines.append(f"\n{data['events']} events read; share of each event type carrying each key")
        for status in ("skipped", "invalid"):
            lines.append(f"{status}: {data[status]['events']}")
            lines.extend(f"  {r['events']:>6}  {r['reason']}" for r in data[status]["reasons"])
        return "\n".join(lines) + "\n"


def build(hook: Any, settings: dict[str, Any], records: Iterable[ParsedLine]) -> Report:
    """The report of ``records``, each transformed through ``hook``."""
    report = Report()
    for _line, event in records:
        if isinstance(event, NotJson):
            report.add({"status": "invalid", "error": event.message})
        else:
            report.add(
                hook.cdp_destination_transform(destination=NAME, event=event, settings=settings)
            )
    return report


def cmd_report(args: argparse.Namespace) -> int:
    from tiktok_destination.cli.event_files import open_events, read_lines
    from tiktok_destination.cli.exits import EXIT_OK
    from tiktok_destination.cli.host import plugin_manager
    from tiktok_destination.cli.settings_file import load_settings

    settings = load_settings(args.settings, sending=False)
    with open_events(args.events) as stream:
        report = build(plugin_manager().hook, settings, read_lines(stream))
    if args.json:
        sys.stdout.write(json.dumps(report.as_json(), ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(report.as_table())
    return EXIT_OK


def register(commands: Any) -> None:
    from tiktok_destination.cli.host import add_events_arguments

    command = commands.add_parser(
        "report", help="match quality by event source and TikTok event, before sending"
    )
    add_events_arguments(command)
    command.add_argument("--json", action="store_true", help="print one JSON object")
    command.set_defaults(run=cmd_report)
