"""Transform cost per event against the budget in the README's "Performance" section.

The budget: one ``json.loads`` + ``json.dumps`` of the same event.

    python benchmarks/bench_transform.py [--events N] [--repeats R] [--profile [TOP]]

Measures, on one core, over the same realistic mix of events (``benchmarks/events.py``):

- ``transform(event, config, now)`` called directly, with settings compiled once;
- the same through the real pluggy hook, ``cdp_destination_transform``, as a host calls it;
- the host's own round trip: ``json.loads`` of the event's pre-serialised text, then
  ``json.dumps`` of the parsed event.

Each figure is the best of ``--repeats`` runs over all events. It prints µs/event, events/s and
the ratio transform / round trip (the budget is a ratio of at most 1), then the same per kind of
event. ``--profile`` adds a cProfile of the direct transform, top functions by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.events import KINDS, SETTINGS, labelled_events  # noqa: E402
from tiktok_destination.settings import compile_settings  # noqa: E402
from tiktok_destination.transform import transform  # noqa: E402

NOW = 1_702_000_000.0


def best_of(repeats: int, run: Callable[[], object]) -> float:
    """The shortest of ``repeats`` timed runs, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def direct_runner(events: list[dict[str, Any]]) -> Callable[[], object]:
    config = compile_settings(SETTINGS)

    def run() -> None:
        for event in events:
            transform(event, config, NOW)

    return run


def hook_runner(events: list[dict[str, Any]]) -> Callable[[], object] | None:
    """The transform through a host's PluginManager, or ``None`` when the plugin cannot load."""
    try:
        import pluggy

        from tiktok_destination import hookspecs, plugin
    except Exception as error:  # the plugin imports modules other engineers are still writing
        print(f"hook: skipped, the plugin does not import ({type(error).__name__}: {error})")
        return None
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    manager.register(plugin)
    call = manager.hook.cdp_destination_transform
    settings = dict(SETTINGS)
    outcome = call(destination="tiktok", event=events[0], settings=settings)
    if not isinstance(outcome, dict) or outcome.get("status") != "ok":
        print(f"hook: skipped, unexpected outcome for the first event: {outcome!r}")
        return None

    def run() -> None:
        for event in events:
            call(destination="tiktok", event=event, settings=settings)

    return run


def round_trip_runner(events: list[dict[str, Any]]) -> Callable[[], object]:
    texts = [json.dumps(event) for event in events]
    loads, dumps = json.loads, json.dumps

    def run() -> None:
        for text in texts:
            dumps(loads(text))

    return run


def statuses(events: list[dict[str, Any]]) -> dict[str, int]:
    config = compile_settings(SETTINGS)
    counts: dict[str, int] = {}
    for event in events:
        status = transform(event, config, NOW)["status"]
        counts[status] = counts.get(status, 0) + 1
    return counts


def line(label: str, seconds: float, count: int, baseline: float | None = None) -> str:
    per_event = seconds / count * 1e6
    text = f"  {label:<28} {per_event:8.2f} µs/event {count / seconds:12,.0f} events/s"
    if baseline is not None:
        text += f"   ratio {seconds / baseline:5.2f}"
    return text


def profile(events: list[dict[str, Any]], top: int) -> None:
    run = direct_runner(events)
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    print(f"\ncProfile of transform over {len(events):,} events, top {top} by own time:")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.strip_dirs().sort_stats(pstats.SortKey.TIME).print_stats(top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="events in the mix")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs; the best counts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--profile", type=int, nargs="?", const=15, default=0, metavar="TOP",
        help="also profile the transform and print the TOP functions by own time",
    )  # fmt: skip
    args = parser.parse_args(argv)

    labelled = labelled_events(args.events, args.seed)
    events = [event for _, event in labelled]
    sizes = [len(json.dumps(event)) for event in events]
    print(
        f"{len(events):,} events (seed {args.seed}), {sum(sizes) / len(sizes):,.0f} bytes of JSON "
        f"on average; outcomes: {statuses(events)}; Python {sys.version.split()[0]}; "
        f"best of {args.repeats}"
    )

    round_trip = best_of(args.repeats, round_trip_runner(events))
    direct = best_of(args.repeats, direct_runner(events))
    print("\nall events:")
    print(line("json.loads + json.dumps", round_trip, len(events)))
    print(line("transform, direct", direct, len(events), round_trip))
    hook = hook_runner(events)
    if hook is not None:
        print(line("transform, pluggy hook", best_of(args.repeats, hook), len(events), round_trip))

    print("\nby kind (ratio = transform / round trip of the same events):")
    for kind in KINDS:
        subset = [event for label, event in labelled if label == kind]
        if not subset:
            continue
        kind_round_trip = best_of(args.repeats, round_trip_runner(subset))
        kind_direct = best_of(args.repeats, direct_runner(subset))
        print(
            f"  {kind:<12} n={len(subset):<6} round trip {kind_round_trip / len(subset) * 1e6:6.2f}"
            f" µs, transform {kind_direct / len(subset) * 1e6:6.2f} µs,"
            f" ratio {kind_direct / kind_round_trip:5.2f}"
        )
    print('\nREADME "Performance" budget: transform ≤ 1 round trip per event (ratio ≤ 1).')

    if args.profile:
        profile(events, args.profile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
