"""What the commands share as a host: a plugin manager holding the plugin, event-file arguments."""

from __future__ import annotations

import argparse

import pluggy

from tiktok_destination import hookspecs, plugin
from tiktok_destination.facts import NAME


def plugin_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    manager.register(plugin, name=NAME)
    return manager


def add_events_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--settings", required=True, metavar="SETTINGS.json")
    command.add_argument(
        "events", nargs="?", metavar="EVENTS", help="JSON Lines or a JSON array; - or absent: stdin"
    )
