"""Heap census speed: one census of 1,000,000 live objects (target: <= 20 ms).

    PYTHON bench/census.py [--objects 1000000] [--rounds 7] [--json PATH] [--check]
    PYTHON -m bench.census ...     (from the repository root; same thing)

Builds a heap of about --objects live gc-tracked objects (instances, lists,
dicts), in up to three shapes (SHAPES below; the report says of each how
often a step along the collector's list goes forward by less than 4 KiB):
"compact" (made in one go: the list runs through memory in address order),
"fragmented" (twice as many made, a random half freed: the survivors are
spread over twice the memory, as in a long-running process, but the list
still runs in ascending address order) and, with --heap shuffled or all,
"shuffled" (relinked in random order by a collection: every step of the
list is a jump to a random address, the worst case of a walk).
On each it times, interleaved in the same process, round after round:
our census (pytest_callflow._native.census), the usual pure-Python census
Counter(type(o) for o in gc.get_objects()), objgraph.typestats() (n/a when
objgraph is not installed) and gc.collect().  Reports the median of the
rounds in milliseconds for ours and, for the others, their ratio to ours.
A full collection runs untimed before each timed census so that every tool
sees the same settled heap.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import statistics
import sys
import time
from collections import Counter
from typing import Any, Callable, Dict, List, Optional

if __package__:
    # Run as `python -m bench.census` from the repo root: take the root off
    # sys.path, or the source tree would shadow the installed package.
    _ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _ROOT]

from pytest_callflow import _native  # noqa: E402

TARGET_MS = 20.0


class Node:
    """A plain instance: gc-tracked on every version."""


def make_objects(n: int) -> List[Any]:
    """About n gc-tracked objects: 40% Node instances, 30% one-item lists,
    30% in one-item dicts holding a list (so that the dicts stay tracked)."""
    out: List[Any] = [Node() for _ in range(n * 4 // 10)]
    out.extend([i] for i in range(n * 3 // 10))
    out.extend({"v": [i]} for i in range(n * 3 // 20))  # two objects each
    return out


SHAPES = {
    "compact": "made in one go: the collector's list runs through memory in address order",
    "fragmented": "2x as many made, a random half freed: survivors spread over 2x the memory, "
                  "the list still in ascending address order",
    "shuffled": "made in one go, relinked in random order by a full collection: "
                "each step of the list jumps to a random address",
}


def build_heap(target: int, shape: str) -> List[Any]:
    """Live objects until gc.get_objects() lists about `target` of them."""
    rng = random.Random(5)
    heap: List[Any] = []
    gc.collect()
    missing = target - len(gc.get_objects())
    while missing > 100:
        batch = make_objects(missing * 2 if shape == "fragmented" else missing)
        if shape == "fragmented":  # keep a random half; the collector's order is kept
            batch = [o for o, keep in zip(batch, rng.choices((0, 1), k=len(batch))) if keep]
        elif shape == "shuffled":
            # Held only by a list younger than themselves, the objects are
            # relinked by the next full collection in that list's order.
            rng.shuffle(batch)
            batch = list(batch)
        heap.extend(batch)
        del batch
        gc.collect()
        missing = target - len(gc.get_objects())
    if shape == "shuffled":
        heap = list(heap)  # a younger holder again, then relink
        gc.collect()
    return heap


def near_steps() -> float:
    """The fraction of steps along the collector's list that go forward by
    less than 4 KiB (what a hardware or address-ahead prefetch can follow)."""
    ids = [id(o) for o in gc.get_objects()]
    near = sum(1 for a, b in zip(ids, ids[1:]) if 0 < b - a < 4096)
    return near / max(len(ids) - 1, 1)


def tools() -> Dict[str, Optional[Callable[[], object]]]:
    try:
        import objgraph  # type: ignore
    except ImportError:
        objgraph = None
    return {
        "ours": _native.census,
        "counter": lambda: Counter(type(o) for o in gc.get_objects()),
        "objgraph": (lambda: objgraph.typestats()) if objgraph else None,  # noqa: E731
        "gc_collect": gc.collect,
    }


def time_once(fn: Callable[[], object], settle: bool) -> float:
    if settle:
        gc.collect()
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    del result
    return elapsed


def measure(objects: int, rounds: int, shape: str) -> Dict[str, Any]:
    heap = build_heap(objects, shape)
    gc.collect()
    live = len(gc.get_objects())
    near = near_steps()
    census = _native.census()
    runners = tools()
    times: Dict[str, List[float]] = {name: [] for name, fn in runners.items() if fn}
    for name, fn in runners.items():  # one untimed warm-up call each
        if fn:
            fn()
    for _ in range(rounds):
        for name, fn in runners.items():
            if fn:
                times[name].append(time_once(fn, settle=name != "gc_collect"))
    medians_ms = {name: statistics.median(ts) * 1e3 for name, ts in times.items()}
    ours = medians_ms["ours"]
    result: Dict[str, Any] = {
        "python": platform.python_version(),
        "heap": shape,
        "heap_shape": SHAPES[shape],
        "near_steps": near,
        "live_objects": live,
        "census_objects": census.objects,
        "census_types": len(census),
        "rounds": rounds,
        "ms": medians_ms,
        "min_ms": {name: min(ts) * 1e3 for name, ts in times.items()},
        "ratio_to_ours": {
            name: (medians_ms[name] / ours if name in medians_ms else None)
            for name in runners
            if name != "ours"
        },
        # A census walks a linked list; when its order is random in memory
        # every step waits for a memory load and no target applies.
        "target_ms": TARGET_MS if shape != "shuffled" else None,
        "ok": ours <= TARGET_MS or shape == "shuffled",
    }
    del heap
    return result


def print_report(r: Dict[str, Any]) -> None:
    print(
        f"heap census, Python {r['python']}, {r['heap']} heap: "
        f"{r['live_objects']:,} live gc-tracked objects "
        f"({r['census_objects']:,} counted in {r['census_types']} types), "
        f"median of {r['rounds']} rounds"
    )
    print(f"  ({r['heap_shape']}; {r['near_steps']:.0%} of the list's steps go forward "
          f"by < 4 KiB)")
    if r["target_ms"] is None:
        target = "no target: every step is a random memory access"
    else:
        target = f"target <= {r['target_ms']:.0f} ms: {'ok' if r['ok'] else 'ABOVE TARGET'}"
    print(
        f"  ours (_native.census)                     {r['ms']['ours']:8.1f} ms"
        f"   (min {r['min_ms']['ours']:.1f}; {target})"
    )
    labels = {
        "counter": "Counter(type(o) for o in gc.get_objects())",
        "objgraph": "objgraph.typestats()",
        "gc_collect": "gc.collect()",
    }
    for name, label in labels.items():
        ratio = r["ratio_to_ours"].get(name)
        if ratio is None:
            print(f"  {label:<42}      n/a   (not installed)")
        else:
            print(f"  {label:<42} {ratio:8.1f}x ours  ({r['ms'][name]:.1f} ms)")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.census", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=1_000_000, help="live objects to build")
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds (>= 5)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--heap", choices=(*SHAPES, "both", "all"), default="both",
                        help="both = compact and fragmented (default); all adds shuffled")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a census is above the target")
    args = parser.parse_args(argv)
    if args.rounds < 5:
        parser.error("--rounds must be at least 5 (medians of >= 5 runs)")
    shapes = {"both": ("compact", "fragmented"), "all": tuple(SHAPES)}.get(args.heap, (args.heap,))
    results = []
    for shape in shapes:
        results.append(measure(args.objects, args.rounds, shape))
        print_report(results[-1])
        sys.stdout.flush()
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2, sort_keys=True)
    return 1 if args.check and not all(r["ok"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
