"""``tiktok-destination report``: how well the events will match, before anything is sent.

Each event is transformed as ``send`` would; for each ``(event_source, TikTok event)`` the
report counts the events, the share carrying each match key TikTok uses that applies to the
source (``MATCH_KEYS``, read from the payload's ``user`` section, and the name and address keys
whenever a payload carries them), the share carrying none of them, and the events with warnings
and their most frequent reasons; then the skipped and invalid events with their most frequent
reasons. Which keys apply to a source comes from the field records' scope (``fields.FIELDS``):
no app keys on web rows, no web-only keys on app rows. A table by default, one JSON object with
``--json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, NamedTuple

from tiktok_destination.cli.event_files import ParsedLine
from tiktok_destination.cli.reasons import most_frequent, reason
from tiktok_destination.facts import NAME
from tiktok_destination.fields import FIELDS
from tiktok_destination.transform.event_text import NotJson
from tiktok_destination.transform.sections import applies


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
"""Reasons given for the skipped and invalid events, and for the warnings of the whole file."""
TOP_GROUP_WARNINGS = 3
"""Warning reasons given for each group."""
NOT_APPLICABLE = "—"
"""A table cell for a key that does not apply to the group's source."""


def _empty(value: Any) -> bool:
    return value in (None, "", [], {})


def _has(user: dict[str, Any], key: MatchKey) -> bool:
    found = [not _empty(user.get(name)) for name in key.user_keys]
    return all(found) if key.needs_all else any(found)


@cache
def _user_keys_of(source: str) -> frozenset[str]:
    """The ``user`` keys some field record puts there for events of ``source``."""
    return frozenset(
        record.target[1]
        for record in FIELDS
        if record.target is not None
        and record.target[0] == "user"
        and applies(record, source, record.platform)
    )


def applies_to(key: MatchKey, source: str) -> bool:
    """Whether ``key`` can be carried by events of ``source`` (the field records' scope)."""
    keys = _user_keys_of(source)
    found = [name in keys for name in key.user_keys]
    return all(found) if key.needs_all else any(found)


def _reasons(counted: Counter[str], n: int) -> list[dict[str, Any]]:
    return [{"reason": text, "events": events} for text, events in most_frequent(counted, n)]


def _share(part: int, whole: int) -> float:
    return round(part / whole, 3) if whole else 0.0


@dataclass
class _Group:
    events: int = 0
    keys: Counter[str] = field(default_factory=Counter)
    keyless: int = 0
    """Events carrying none of the keys the report counts."""
    warned: int = 0
    """Events with at least one warning."""
    warnings: Counter[str] = field(default_factory=Counter)


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
            self.reasons[outcome["status"]][reason(text)] += 1
            return
        payload = outcome["payload"]
        event = payload["data"][0]
        user = event.get("user") if isinstance(event.get("user"), dict) else {}
        group = self.groups.setdefault((payload["event_source"], event["event"]), _Group())
        group.events += 1
        carried = 0
        for key in MATCH_KEYS:
            has = _has(user, key)
            group.keys[key.name] += has
            carried += has
        for name in NAME_KEYS:
            if not _empty(user.get(name)):
                group.keys[name] += 1
                self.name_keys.add(name)
                carried += 1
        group.keyless += not carried
        warnings = outcome.get("warnings") or []
        if warnings:
            group.warned += 1
            group.warnings.update({reason(text) for text in warnings})

    def key_names(self, source: str | None = None) -> list[str]:
        """The keys reported (for ``source``: those that apply to it)."""
        keys = [k.name for k in MATCH_KEYS if source is None or applies_to(k, source)]
        return keys + [n for n in NAME_KEYS if n in self.name_keys]

    def as_json(self) -> dict[str, Any]:
        ordered = sorted(self.groups.items(), key=lambda item: (-item[1].events, item[0]))
        ok = sum(group.events for group in self.groups.values())
        keyless = sum(group.keyless for group in self.groups.values())
        warnings: Counter[str] = Counter()
        for group in self.groups.values():
            warnings.update(group.warnings)
        return {
            "events": self.read,
            "ok": ok,
            "no_match_key": {"events": keyless, "share": _share(keyless, ok)},
            "warnings": {
                "events": sum(group.warned for group in self.groups.values()),
                "reasons": _reasons(warnings, TOP_REASONS),
            },
            "groups": [
                {
                    "event_source": source,
                    "event": event,
                    "events": group.events,
                    "match_keys": {
                        name: _share(group.keys[name], group.events)
                        for name in self.key_names(source)
                    },
                    "no_match_key": _share(group.keyless, group.events),
                    "warnings": {
                        "events": group.warned,
                        "reasons": _reasons(group.warnings, TOP_GROUP_WARNINGS),
                    },
                }
                for (source, event), group in ordered
            ],
            **{
                status: {"events": sum(counted.values()), "reasons": _reasons(counted, TOP_REASONS)}
                for status, counted in self.reasons.items()
            },
        }

    def as_table(self) -> str:
        data = self.as_json()
        names = self.key_names()
        header = ["event_source", "event", "events", *names, "no key", "warned"]
        rows = [
            [g["event_source"], g["event"], f"{g['events']:,}"]
            + [
                f"{g['match_keys'][name]:.0%}" if name in g["match_keys"] else NOT_APPLICABLE
                for name in names
            ]
            + [f"{g['no_match_key']:.0%}", f"{g['warnings']['events']:,}"]
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
        lines.append(
            f"\n{data['events']:,} events read; share of each event type carrying each key "
            f"({NOT_APPLICABLE}: the key does not apply to the source)"
        )
        keyless = data["no_match_key"]
        lines.append(
            f"no match key at all: {keyless['events']:,} of {data['ok']:,} ok events "
            f"({keyless['share']:.0%})"
        )
        lines.append(f"warnings: {data['warnings']['events']:,} events")
        for g in data["groups"]:
            if g["warnings"]["events"]:
                lines.append(f"  {g['event_source']} {g['event']}: {g['warnings']['events']:,}")
                lines.extend(
                    f"    {r['events']:>6,}  {r['reason']}" for r in g["warnings"]["reasons"]
                )
        for status in ("skipped", "invalid"):
            lines.append(f"{status}: {data[status]['events']:,}")
            lines.extend(f"  {r['events']:>6,}  {r['reason']}" for r in data[status]["reasons"])
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
