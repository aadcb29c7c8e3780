"""Transform cost per event against the budget in the README's "Performance" section.

The budget: one ``json.loads`` + ``json.dumps`` of the same event (what a host pays anyway).

    python benchmarks/bench_transform.py [--events N] [--rounds R] [--by-kind] [--by-section]
                                         [--profile [TOP]]
                                         [--compiled .venv-compiled/bin/python]

Each round makes fresh events for every measure (a new seed each: other users, other emails,
other phones, so no cache can serve a replay; users still come back within a round, as on a real
site), in the realistic mix of ``benchmarks/events.py`` with phones written as people write them.
Measured side by side in each round, on one core:

- the host's own round trip: ``json.loads`` of each event's text, ``json.dumps`` of the result;
- ``transform(event, config, now)`` called directly, settings compiled once;
- the per-event hook, ``cdp_destination_transform``, through a real pluggy ``PluginManager``;
- the batch hook, ``cdp_destination_transform_batch``, 1000 events a call;
- the batch hook again, each batch's events parsed (off the clock) right before its call;
- with ``--compiled PYTHON``: both hooks again in ``PYTHON``'s environment, which has the build
  compiled by mypyc installed (README "Compiled speed-up"), in a child process each round.

Events are parsed before the clock starts (the host has them as dicts). Each figure is the best
of the rounds; the ratio is the measure / the round trip (the budget is a ratio of at most 1).
``--by-kind`` adds the ratio per kind of event; ``--by-section`` the cost of each part of the
transform (name and source, time, id, each section), each timed alone; ``--profile`` a cProfile
of the direct transform.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import pstats
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pluggy  # noqa: E402

from benchmarks.events import KINDS, SETTINGS, labelled_events  # noqa: E402
from tiktok_destination import hookspecs, plugin  # noqa: E402
from tiktok_destination.facts import scope_of  # noqa: E402
from tiktok_destination.fields import FIELD  # noqa: E402
from tiktok_destination.settings import make_config  # noqa: E402
from tiktok_destination.transform.assembly import section_builders  # noqa: E402
from tiktok_destination.transform.event import (  # noqa: E402
    consent_lacking,
    event_id,
    event_name,
    event_source,
    event_time,
    platform_of,
    transform,
)
from tiktok_destination.transform.sections import Builder, EventWalk, read_field  # noqa: E402

NOW = time.time()
"""The direct transform's clock: the real one, as the hooks read it."""
BATCH = 1000
Prepare = Callable[[list[str]], Callable[[], object]]
"""Given the JSON texts of fresh events, get ready (off the clock) and return the timed run."""


def parsed(texts: list[str]) -> list[dict[str, Any]]:
    return [json.loads(text) for text in texts]


def round_trip(texts: list[str]) -> Callable[[], object]:
    loads, dumps = json.loads, json.dumps

    def run() -> None:
        for text in texts:
            dumps(loads(text))

    return run


def direct(texts: list[str]) -> Callable[[], object]:
    events = parsed(texts)
    config = make_config(SETTINGS)

    def run() -> None:
        for event in events:
            transform(event, config, NOW)

    return run


def _hook() -> Any:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    manager.register(plugin)
    return manager.hook


def per_event_hook(texts: list[str]) -> Callable[[], object]:
    events = parsed(texts)
    call = _hook().cdp_destination_transform
    settings = dict(SETTINGS)

    def run() -> None:
        for event in events:
            call(destination="tiktok", event=event, settings=settings)

    return run


def batch_hook(texts: list[str]) -> Callable[[], object]:
    events = parsed(texts)
    call = _hook().cdp_destination_transform_batch
    settings = dict(SETTINGS)
    batches = [events[start : start + BATCH] for start in range(0, len(events), BATCH)]

    def run() -> None:
        for batch in batches:
            call(destination="tiktok", events=batch, settings=settings)

    return run


def batch_hook_just_parsed(texts: list[str]) -> Callable[[], object]:
    """The batch hook on each batch right after its events are parsed (off the clock), as a
    host that parses a batch and hands it over: the events are still in the CPU's caches,
    where the other measures meet events parsed long before."""
    call = _hook().cdp_destination_transform_batch
    settings = dict(SETTINGS)
    batches = [texts[start : start + BATCH] for start in range(0, len(texts), BATCH)]

    def run() -> float:
        spent = 0.0
        for batch in batches:
            events = parsed(batch)
            start = time.perf_counter()
            call(destination="tiktok", events=events, settings=settings)
            spent += time.perf_counter() - start
        return spent

    return run


MEASURES: dict[str, Prepare] = {
    "json.loads + json.dumps": round_trip,
    "transform, direct": direct,
    "per-event hook": per_event_hook,
    f"batch hook, {BATCH} a call": batch_hook,
    "batch hook, each just parsed": batch_hook_just_parsed,
}


def available(label: str) -> bool:
    """Older trees (measured for the 'before' figures) have no batch hook."""
    return not label.startswith("batch hook") or hasattr(
        hookspecs, "cdp_destination_transform_batch"
    )


COMPILED_LABELS = ("per-event hook, mypyc build", "batch hook, mypyc build")
COMPILED_CHILD = """
import sys
sys.path.append(sys.argv[1])  # benchmarks from the tree, tiktok_destination as installed
from benchmarks import bench_transform as bench
from tiktok_destination import variant
if not variant.compiled_with_mypyc():
    sys.exit(f"{sys.executable}: not the compiled build ({variant.describe()})")
count, seed = int(sys.argv[2]), int(sys.argv[3])
bench.batch_hook(bench.texts_of(count, seed + 500))()  # warm up, as the parent's measures are
for index, prepare in enumerate((bench.per_event_hook, bench.batch_hook)):
    texts = bench.texts_of(count, seed + index)
    print(bench.timed(prepare(texts)) / len(texts))
"""


def compiled_round(python: str, count: int, seed: int) -> list[float]:
    """Seconds per event of both hooks in ``python``'s environment (the compiled build)."""
    command = [python, "-I", "-c", COMPILED_CHILD, str(ROOT), str(count), str(seed)]  # -I: no cwd
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(done.stderr.strip())
    return [float(line) for line in done.stdout.split()]


def timed(run: Callable[[], object]) -> float:
    """Seconds ``run`` takes, or the seconds it counted itself (it returns them)."""
    gc.collect()
    start = time.perf_counter()
    counted = run()
    elapsed = time.perf_counter() - start
    return counted if isinstance(counted, float) else elapsed


def texts_of(count: int, seed: int, kind: str | None = None) -> list[str]:
    labelled = labelled_events(count, seed)
    return [json.dumps(event) for label, event in labelled if kind is None or label == kind]


def measure(
    count: int, rounds: int, seed: int, kind: str | None = None, compiled: str | None = None
) -> dict[str, float]:
    """Best seconds per measure; every measure of every round on events of a seed of its own."""
    best = {label: float("inf") for label in MEASURES if available(label)}
    here = list(best)
    for round_ in range(rounds):
        for index, label in enumerate(here):
            texts = texts_of(count, seed + 1000 * round_ + index, kind)
            best[label] = min(best[label], timed(MEASURES[label](texts)) / len(texts))
        if compiled:
            seconds = compiled_round(compiled, count, seed + 1000 * round_ + len(MEASURES))
            for label, each in zip(COMPILED_LABELS, seconds, strict=True):
                best[label] = min(best.get(label, each), each)
    return best


def statuses(count: int, seed: int) -> dict[str, int]:
    config = make_config(SETTINGS)
    counts: dict[str, int] = {}
    for text in texts_of(count, seed):
        status = transform(json.loads(text), config, NOW)["status"]
        counts[status] = counts.get(status, 0) + 1
    return counts


def report(best: dict[str, float]) -> None:
    baseline = best["json.loads + json.dumps"]
    for label, seconds in best.items():
        ratio = "" if seconds is baseline else f"   ratio {seconds / baseline:5.2f}"
        print(f"  {label:<28} {seconds * 1e6:8.2f} µs/event {1 / seconds:12,.0f} events/s{ratio}")


def _build_all(runs: list[tuple[Builder, dict[str, Any], EventWalk]]) -> None:
    for build, event, walk in runs:
        build(event, walk, "")


def by_section(count: int, seed: int) -> dict[str, float]:
    """Seconds per event of each part of ``transform``, each timed alone, in turn, over the same
    fresh events (a part that does not apply to an event costs it nothing)."""
    config = make_config(SETTINGS)
    events = parsed(texts_of(count, seed))
    walks = []
    for event in events:
        source = event_source(event, config, [])
        walk = EventWalk(event, config, source, [])
        if scope_of(source) == "app":
            walk.platform = platform_of(read_field(FIELD["device_platform"], event, walk))
        walks.append(walk)
    parts: dict[str, Callable[[], object]] = {
        "name, consent, source": lambda: [
            (event_name(e, config.spec), consent_lacking(e, config), event_source(e, config, []))
            for e in events
        ],
        "event_time": lambda: [event_time(e, config, NOW, []) for e in events],
        "event_id": lambda: [
            event_id(e, config, w.source, []) for e, w in zip(events, walks, strict=True)
        ],
    }
    builders = {
        (source, platform): dict(section_builders(config, source, platform))
        for source, platform in {(walk.source, walk.platform) for walk in walks}
    }
    for section in ("page", "user", "app", "ad", "properties", "event"):
        parts[f"section {section}"] = partial(
            _build_all,
            [
                (build, event, walk)
                for event, walk in zip(events, walks, strict=True)
                if (build := builders[(walk.source, walk.platform)].get(section)) is not None
            ],
        )
    return {label: timed(run) / count for label, run in parts.items()}


def profile(count: int, seed: int, top: int) -> None:
    run = direct(texts_of(count, seed))
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    print(f"\ncProfile of transform over {count:,} fresh events, top {top} by own time:")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.strip_dirs().sort_stats(pstats.SortKey.TIME).print_stats(top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="events per measure and round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the best counts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--by-kind", action="store_true", help="also the ratio per kind of event")
    parser.add_argument("--by-section", action="store_true", help="also each part's cost")
    parser.add_argument(
        "--profile", type=int, nargs="?", const=15, default=0, metavar="TOP",
        help="also profile the transform and print the TOP functions by own time",
    )  # fmt: skip
    parser.add_argument(
        "--compiled", metavar="PYTHON",
        help="also both hooks in PYTHON's environment, where the mypyc build is installed",
    )  # fmt: skip
    args = parser.parse_args(argv)

    sizes = [len(text) for text in texts_of(2000, args.seed)]
    print(
        f"{args.events:,} fresh events per measure and round, {sum(sizes) / len(sizes):,.0f} bytes"
        f" of JSON on average; outcomes: {statuses(args.events, args.seed)};"
        f" Python {sys.version.split()[0]}; best of {args.rounds} rounds"
    )
    print("\nall events (ratio = measure / round trip):")
    report(measure(args.events, args.rounds, args.seed, compiled=args.compiled))
    if args.by_kind:
        for kind in KINDS:
            print(f"\n{kind} events only:")
            report(measure(args.events, args.rounds, args.seed, kind))
    if args.by_section:
        print("\neach part of transform alone, over the same fresh events:")
        for label, seconds in by_section(args.events, args.seed + 777_777).items():
            print(f"  {label:<28} {seconds * 1e6:8.2f} µs/event")
    print(
        "\nTargets (docs/performance.md): the batch hook ≤ 2.0 × the round trip, the per-event"
        " hook within 10 % of it, the mypyc build ≤ 1.4 ×."
    )
    if args.profile:
        profile(args.events, args.seed + 999_999, args.profile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
