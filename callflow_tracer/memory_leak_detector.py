"""Memory leak detection of the original CallFlow Tracer, on the C heap
census of ``pytest_callflow._native``::

    from callflow_tracer.memory_leak_detector import detect_leaks

    with detect_leaks("leaks.html") as detector:
        for _ in range(5):
            handle_request()
            detector.take_snapshot("request")
    for leak in detector.get_report()["suspected_leaks"]:
        print(leak["object_type"], leak["holders"])

Where this differs from the original, on purpose:

- A snapshot is one C census of the live gc-tracked objects (count and bytes
  per ``module.qualname`` type), taken after a garbage collection; the
  detector's own objects are left out, so its snapshots never count as
  growth and a clean loop is not flagged.
- A type is a suspected leak when it grows between *every* pair of
  consecutive snapshots (the CPython regrtest rule): take a snapshot per
  iteration to tell a leak from a cache warmed once.  With only the start
  and final snapshots, anything that outlives the block and was not there
  before it is reported.
- A suspected leak names the type, its growth per interval and, for sample
  leaked objects, a referrer chain from a root (``app.mod._CACHE (module
  global) -> list[3] -> Handler``) and the allocation site (tracemalloc).
- ``ObjectTracker`` keeps weak references only; objects that cannot be
  weakly referenced are kept as id and type, with their liveness unknown.
- ``find_reference_cycles`` finds cycles among live objects created since
  the innermost running detector started (``gc.garbage`` stays empty since
  PEP 442, so the original's answer was always empty).
- The gc debug flags are never set (no output on stderr) and the user's gc
  state (enabled, thresholds, debug flags) is restored by ``stop``.
"""

import functools
import gc
import inspect
import sys
import threading
import time
import tracemalloc
import traceback
import types
import weakref
from collections import deque
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Set, Tuple, TypeVar

from pytest_callflow import _native

__all__ = [
    "MemoryLeakDetector",
    "MemorySnapshot",
    "ObjectTracker",
    "detect_leaks",
    "find_reference_cycles",
    "get_memory_growth",
    "get_top_memory_consumers",
    "track_allocations",
]

F = TypeVar("F", bound=Callable[..., Any])

# Every type defined here is named with this prefix in a census; they are
# left out of growth and comparisons (the detector's own bookkeeping).
OWN_PREFIX = __name__ + "."
_OWN_FILE = __file__

# Floors of the memory pseudo entries per interval: a snapshot allocates a
# few blocks itself, and free lists make small counts noisy.
MIN_BLOCKS = 256
MIN_TRACED = 64 * 1024

# Severity of a growing type, by its growth over the whole scope.
HIGH_BYTES, MEDIUM_BYTES = 1 << 20, 64 << 10
HIGH_COUNT, MEDIUM_COUNT = 10_000, 1_000

# 3.11's tracemalloc finds no traceback of objects with a managed dict.
_NO_DICT_TRACEBACKS = sys.version_info[:2] == (3, 11)

_running: List["MemoryLeakDetector"] = []  # innermost last


def type_name(tp: type) -> str:
    """The census name of a type: ``module.qualname``."""
    return f"{getattr(tp, '__module__', None) or 'builtins'}.{tp.__qualname__}"


def _is_own(name: str) -> bool:
    return name.startswith(OWN_PREFIX)


class _quiet_gc:
    """Collect with the printing debug flags off (DEBUG_SAVEALL is kept, it
    changes what collection does), then put the flags back."""

    def __enter__(self) -> None:
        self.flags = gc.get_debug()
        gc.set_debug(self.flags & gc.DEBUG_SAVEALL)

    def __exit__(self, *exc: object) -> None:
        gc.set_debug(self.flags)


def _collect() -> None:
    with _quiet_gc():
        gc.collect()


# --------------------------------------------------------------------------
# ObjectTracker


class _Records(dict):  # type: ignore[type-arg]
    """The tracker's records (a named type, so a census leaves it out)."""


class _Timeline(list):  # type: ignore[type-arg]
    """The tracker's timeline (a named type, so a census leaves it out)."""


class _TrackerRef(weakref.ref):  # type: ignore[type-arg]
    __slots__ = ("serial",)
    serial: int


class _Record:
    __slots__ = ("obj_id", "type", "time", "trace", "size", "ref", "freed_at")

    def __init__(self, obj: Any, when: float, trace: str,
                 ref: Optional[_TrackerRef]) -> None:
        self.obj_id = id(obj)
        self.type = type_name(type(obj))
        self.time = when
        self.trace = trace
        self.size = sys.getsizeof(obj, 0)
        self.ref = ref
        self.freed_at: Optional[float] = None

    @property
    def weakrefable(self) -> bool:
        return self.ref is not None

    def alive(self) -> Optional[bool]:
        """True/False, or None when liveness cannot be known."""
        if self.ref is None:
            return None
        return self.ref() is not None


def _caller_site(skip: int = 2, depth: int = 4) -> str:
    """A short stack of the caller: "file:line in func" lines, innermost
    last (formatting the whole stack per object, as the original did, is
    slow)."""
    frames = traceback.extract_stack(sys._getframe(skip), limit=depth)
    return "".join(f"{f.filename}:{f.lineno} in {f.name}\n" for f in frames)


class ObjectTracker:
    """Track chosen objects without keeping them alive.

    ``track_object(obj)`` keeps a weak reference to ``obj`` and a record
    (type, size, time, allocation stack); objects that cannot be weakly
    referenced (int, list, dict, tuple, ...) are recorded by id and type
    only, and counted as ``untrackable``: whether they are still alive is
    not known, and no strong reference is ever taken to find out."""

    def __init__(self) -> None:
        self.start_time: Optional[float] = None
        self._records: Dict[int, _Record] = _Records()
        self._timeline: List[Tuple[float, int, str, str]] = _Timeline()
        self._serial = 0
        # Reentrant: the weakref callback (_freed) can run inside a
        # collection that an allocation under the lock set off.
        self._lock = threading.RLock()

    def _now(self) -> float:
        return time.time() - (self.start_time if self.start_time is not None else time.time())

    def track_object(self, obj: Any, allocation_info: Optional[str] = None) -> bool:
        """Record ``obj``; True when it is followed by a weak reference,
        False when only its id and type are kept."""
        when = self._now()
        trace = allocation_info if allocation_info is not None else _caller_site()
        with self._lock:
            self._serial += 1
            serial = self._serial
        try:
            ref: Optional[_TrackerRef] = _TrackerRef(obj, self._freed)
        except TypeError:
            ref = None
        if ref is not None:
            ref.serial = serial
        record = _Record(obj, when, trace, ref)
        with self._lock:
            self._records[serial] = record
            self._timeline.append((when, record.obj_id, record.type, "allocated"))
        return ref is not None

    def _freed(self, ref: _TrackerRef) -> None:
        # Weakref callback: may run during any collection, on any thread.
        record = self._records.get(ref.serial)
        if record is None:
            return
        record.freed_at = self._now()
        with self._lock:
            self._timeline.append((record.freed_at, record.obj_id, record.type, "freed"))

    def get_live_objects(self) -> Dict[int, Any]:
        """{id: object} of the tracked objects still alive (a new dict: the
        caller holds these references, the tracker does not)."""
        live: Dict[int, Any] = {}
        for record in list(self._records.values()):
            obj = record.ref() if record.ref is not None else None
            if obj is not None:
                live[id(obj)] = obj
        return live

    @property
    def allocation_traces(self) -> Dict[int, Dict[str, Any]]:
        """{object id: {type, time, trace, size, weakrefable, alive}}."""
        return {r.obj_id: {"type": r.type, "time": r.time, "trace": r.trace, "size": r.size,
                           "weakrefable": r.weakrefable, "alive": r.alive()}
                for r in list(self._records.values())}

    @property
    def allocation_timeline(self) -> List[Dict[str, Any]]:
        return [{"time": t, "obj_id": i, "type": n, "action": a}
                for t, i, n, a in list(self._timeline)]

    def get_object_stats(self) -> Dict[str, Any]:
        """``total_tracked``; ``currently_live`` (followed objects still
        alive); ``freed_count``; ``leaked_count``: the followed objects
        still alive when asked (the original counted the *freed* ones);
        ``untrackable``: objects kept as id and type only;
        ``type_distribution``: live followed objects per type."""
        records = list(self._records.values())
        live = 0
        freed = 0
        untrackable = 0
        by_type: Dict[str, int] = {}
        for r in records:
            state = r.alive()
            if state is None:
                untrackable += 1
            elif state:
                live += 1
                by_type[r.type] = by_type.get(r.type, 0) + 1
            else:
                freed += 1
        return {
            "total_tracked": len(records),
            "currently_live": live,
            "freed_count": freed,
            "leaked_count": live,
            "untrackable": untrackable,
            "type_distribution": by_type,
            "timeline_events": len(self._timeline),
        }


# --------------------------------------------------------------------------
# MemorySnapshot


class MemorySnapshot:
    """The live heap at one instant: a C census (count and bytes per type)
    taken after a garbage collection (``collect=False`` skips it), plus
    ``sys.getallocatedblocks()`` and tracemalloc's traced bytes while it
    traces.  Snapshots keep no Python objects per type."""

    __slots__ = ("label", "timestamp", "census", "gc_count", "garbage", "previous")

    def __init__(self, label: str = "", collect: bool = True) -> None:
        if collect:
            _collect()
        self.label = label
        self.gc_count = gc.get_count()
        self.garbage = len(gc.garbage)
        self.previous: Optional[MemorySnapshot] = None
        self.timestamp = time.time()
        self.census = _native.census(label or None)

    @property
    def object_counts(self) -> Dict[str, int]:
        """{type name: live objects}, the detector's own types left out."""
        return {n: c for n, (c, _) in self.census.types().items() if not _is_own(n)}

    @property
    def memory_usage(self) -> int:
        """tracemalloc's traced bytes when it traced, else the bytes of
        the gc-tracked objects."""
        traced = self.census.traced
        return traced if traced is not None else self.census.bytes

    @property
    def gc_stats(self) -> Dict[str, Any]:
        return {"collections": self.gc_count, "objects": self.census.objects,
                "garbage": self.garbage}

    def compare_to(self, other: "MemorySnapshot") -> Dict[str, Any]:
        """This snapshot minus ``other``: ``time_diff`` (s), ``memory_diff``
        (bytes: traced when both traced, else gc-tracked), ``objects_diff``
        and ``type_changes`` {type: {before, after, diff, bytes_diff}}."""
        diff = _native.census_diff(other.census, self.census)
        changes: Dict[str, Dict[str, int]] = {}
        own_count = own_bytes = 0
        for name, (dcount, dbytes) in diff["types"].items():
            if _is_own(name):
                own_count += dcount
                own_bytes += dbytes
                continue
            changes[name] = {"before": other.census.count(name),
                             "after": self.census.count(name),
                             "diff": dcount, "bytes_diff": dbytes}
        if diff["traced"] is not None:
            memory = diff["traced"]
        else:
            memory = diff["bytes"] - own_bytes
        return {
            "time_diff": self.timestamp - other.timestamp,
            "memory_diff": memory,
            "objects_diff": diff["objects"] - own_count,
            "type_changes": changes,
        }

    def __repr__(self) -> str:
        return (f"<MemorySnapshot {self.label!r}: {self.census.objects} objects, "
                f"{self.census.bytes} bytes>")


# --------------------------------------------------------------------------
# Holders: referrer chains from a root to a sample object


def _module_dicts() -> Dict[int, str]:
    dicts: Dict[int, str] = {}
    for name, mod in list(sys.modules.items()):
        d = getattr(mod, "__dict__", None)
        if isinstance(mod, types.ModuleType) and isinstance(d, dict):
            dicts[id(d)] = name
    return dicts


def _short(obj: Any) -> str:
    return type(obj).__qualname__


def _key_of(container: Any, child: Any) -> str:
    """How ``container`` refers to ``child``: "[3]", "['key']", ".attr",
    or "" when it cannot be told cheaply."""
    try:
        if isinstance(container, dict):
            for k, v in container.items():
                if v is child:
                    return f"[{k!r}]" if not isinstance(k, str) else f"[{k!r}]"
        elif isinstance(container, (list, tuple)):
            for i, v in enumerate(container):
                if v is child:
                    return f"[{i}]"
        elif isinstance(container, (set, frozenset)):
            return "{...}"
    except Exception:  # a hostile __eq__/__repr__ must not break the report
        return ""
    return ""


def _root_label(obj: Any, child: Any, modules: Dict[int, str]) -> Optional[str]:
    """A label when ``obj`` is a root: a module's globals, a class, a
    running frame."""
    if id(obj) in modules and isinstance(obj, dict):
        for k, v in list(obj.items()):
            if v is child:
                return f"{modules[id(obj)]}.{k} (module global)"
        return f"{modules[id(obj)]} (module global)"
    if isinstance(obj, type):
        return f"{type_name(obj)} (class attribute)"
    if isinstance(obj, types.FrameType):
        code = obj.f_code
        for k, v in list(obj.f_locals.items()):
            if v is child:
                return f"{k} (local of {code.co_name}, {code.co_filename}:{obj.f_lineno})"
        return f"{code.co_name} ({code.co_filename}:{obj.f_lineno}, frame)"
    return None


def referrer_chain(target: Any, max_depth: int = 8, max_visits: int = 40) -> List[str]:
    """A chain of holders from a root to ``target``, root first:
    ``["app.reg._H (module global)", "list[3]", "Handler"]``.  A backward
    breadth-first search through ``gc.get_referrers``, bounded by depth and
    by visited objects; when no root is met, the chain starts with "?"."""
    modules = _module_dicts()
    # Our own containers refer to the objects on the way: skip them.
    parent: Dict[int, Tuple[Any, Any]] = {}  # id(obj) -> (obj, child)
    queue: "deque[Tuple[Any, int]]" = deque([(target, 0)])
    here = sys._getframe()
    skip: Set[int] = {id(parent), id(queue), id(modules)}
    visits = 0
    deepest: Any = target
    found: Optional[Tuple[str, Any]] = None
    while queue and found is None and visits < max_visits:
        obj, depth = queue.popleft()
        visits += 1
        referrers = gc.get_referrers(obj)
        skip.add(id(referrers))
        for ref in referrers:
            rid = id(ref)
            if rid in skip or rid in parent or ref is target:
                continue
            if isinstance(ref, types.FrameType) and (
                    ref is here or ref.f_code.co_filename == _OWN_FILE):
                continue
            label = _root_label(ref, obj, modules)
            if label is not None:
                found = (label, obj)
                break
            if depth + 1 < max_depth:
                parent[rid] = (ref, obj)
                queue.append((ref, depth + 1))
                deepest = ref
        del referrers
    start = found[1] if found is not None else deepest
    steps: List[str] = [found[0] if found is not None else "?"]
    node = start
    # Walk down from the node next to the root to the target.
    chain_nodes = [node]
    while id(node) in parent:
        node = parent[id(node)][1]
        chain_nodes.append(node)
    for i, node in enumerate(chain_nodes):
        if i + 1 < len(chain_nodes):
            steps.append(_short(node) + _key_of(node, chain_nodes[i + 1]))
        else:
            steps.append(_short(node))
    parent.clear()
    return steps


def allocation_site(obj: Any, depth: int = 4) -> List[str]:
    """Where tracemalloc saw ``obj`` allocated, innermost first ("file:line"),
    or [] when it was not tracing then."""
    tb = tracemalloc.get_object_traceback(obj)
    if tb is None:
        return []
    frames = [f for f in reversed(list(tb)) if f.filename != _OWN_FILE]
    return [f"{f.filename}:{f.lineno}" for f in frames[:depth]]


def _busiest_line() -> Optional[str]:
    """"file:line" of the line outside this module that holds the most
    traced memory, while tracemalloc traces."""
    if not tracemalloc.is_tracing():
        return None
    for stat in tracemalloc.take_snapshot().statistics("lineno")[:20]:
        frame = stat.traceback[0]
        if frame.filename not in (_OWN_FILE, tracemalloc.__file__) and \
                not frame.filename.startswith("<frozen"):
            return f"{frame.filename}:{frame.lineno}"
    return None


def _samples(names: Sequence[str], old_ids: Optional[Set[int]],
             per_type: int) -> Dict[str, List[Any]]:
    """Up to ``per_type`` live objects of each type name, newest first,
    preferring objects that were not alive at the start."""
    wanted = set(names)
    found: Dict[str, List[Any]] = {n: [] for n in names}
    fallback: Dict[str, List[Any]] = {n: [] for n in names}
    cache: Dict[type, str] = {}
    objects = gc.get_objects()
    try:
        # After a full collection the newest objects are at the end.
        for obj in reversed(objects):
            tp = type(obj)
            name = cache.get(tp)
            if name is None:
                name = cache[tp] = type_name(tp)
            if name not in wanted:
                continue
            if old_ids is None or id(obj) not in old_ids:
                if len(found[name]) < per_type:
                    found[name].append(obj)
            elif len(fallback[name]) < per_type:
                fallback[name].append(obj)
    finally:
        del objects
    return {n: found[n] or fallback[n] for n in names}


# --------------------------------------------------------------------------
# MemoryLeakDetector


def _severity(count: int, nbytes: int) -> str:
    if nbytes >= HIGH_BYTES or count >= HIGH_COUNT:
        return "high"
    if nbytes >= MEDIUM_BYTES or count >= MEDIUM_COUNT:
        return "medium"
    return "low"


class MemoryLeakDetector:
    """Snapshots of the live heap and the growth rule over them.

    ``start()`` saves the gc state, starts tracemalloc (``trace_allocations``,
    for allocation sites) when it is not already tracing, and takes the
    "Initial" snapshot; ``take_snapshot(label)`` adds one; ``stop()`` takes
    the "Final" one, runs ``analyze_leaks()`` and restores what it changed.
    ``min_count``/``min_bytes``: the growth per interval that counts;
    ``ignore``: type names, or prefixes ending in "."."""

    def __init__(self, min_count: int = 1, min_bytes: int = 0,
                 ignore: Sequence[str] = (), trace_allocations: bool = True,
                 samples: int = 2) -> None:
        self.object_tracker = ObjectTracker()
        self.growth_patterns: List[Dict[str, Any]] = []
        self.suspected_leaks: List[Dict[str, Any]] = []
        self.enabled = False
        self.start_time: Optional[float] = None
        self.end_time: Optional[float] = None
        self.tracemalloc_started = False
        self.min_count = min_count
        self.min_bytes = min_bytes
        self.ignore = tuple(ignore)
        self.trace_allocations = trace_allocations
        self.samples = samples
        # Snapshots are chained through MemorySnapshot.previous rather
        # than kept in a list, whose storage would grow with each one.
        self._last: Optional[MemorySnapshot] = None
        self._gc_state: Optional[Tuple[bool, Tuple[int, ...], int]] = None
        self._old_ids: Optional[Set[int]] = None

    @property
    def snapshots(self) -> List[MemorySnapshot]:
        """The snapshots taken, oldest first (a new list)."""
        out: List[MemorySnapshot] = []
        node = self._last
        while node is not None:
            out.append(node)
            node = node.previous
        out.reverse()
        return out

    def start(self) -> None:
        if self.enabled:
            return
        self._gc_state = (gc.isenabled(), gc.get_threshold(), gc.get_debug())
        self.enabled = True
        self.start_time = time.time()
        self.end_time = None
        self.object_tracker.start_time = self.start_time
        if self.trace_allocations and not tracemalloc.is_tracing():
            tracemalloc.start(10)
            self.tracemalloc_started = True
        _collect()
        # Who was alive at the start: the scope of find_reference_cycles
        # and how sample leaked objects are told from older ones.
        self._old_ids = {id(o) for o in gc.get_objects()}
        _running.append(self)
        self.take_snapshot("Initial")

    def stop(self) -> None:
        if not self.enabled:
            return
        try:
            self.take_snapshot("Final")
            self.end_time = time.time()
            self.analyze_leaks()
        finally:
            self.enabled = False
            if self in _running:
                _running.remove(self)
            if self.tracemalloc_started:
                tracemalloc.stop()
                self.tracemalloc_started = False
            self._restore_gc()
            self._old_ids = None

    def _restore_gc(self) -> None:
        if self._gc_state is None:
            return
        enabled, threshold, debug = self._gc_state
        gc.set_threshold(*threshold)
        gc.set_debug(debug)
        (gc.enable if enabled else gc.disable)()
        self._gc_state = None

    def take_snapshot(self, label: str = "") -> MemorySnapshot:
        count = len(self.snapshots)
        snapshot = MemorySnapshot(label or f"Snapshot_{count}")
        snapshot.previous = self._last
        self._last = snapshot
        return snapshot

    def _comparisons(self) -> List[Dict[str, Any]]:
        snaps = self.snapshots
        out = []
        for before, after in zip(snaps, snaps[1:]):
            comparison = after.compare_to(before)
            comparison["from_snapshot"] = before.label
            comparison["to_snapshot"] = after.label
            out.append(comparison)
        return out

    def analyze_growth_pattern(self) -> None:
        """One pattern per interval in which memory or objects grew."""
        self.growth_patterns = []
        for c in self._comparisons():
            if c["memory_diff"] <= 0 and c["objects_diff"] <= 0:
                continue
            elapsed = c["time_diff"]
            self.growth_patterns.append({
                "from_snapshot": c["from_snapshot"],
                "to_snapshot": c["to_snapshot"],
                "memory_growth": c["memory_diff"],
                "time_elapsed": elapsed,
                "growth_rate": c["memory_diff"] / elapsed if elapsed > 0 else 0.0,
                "object_growth": c["objects_diff"],
                "type_changes": {n: ch for n, ch in c["type_changes"].items() if ch["diff"] > 0},
            })

    def analyze_leaks(self) -> List[Dict[str, Any]]:
        """Apply the growth rule to the snapshots and describe each leak:
        type, growth per interval, severity, holders and allocation sites
        of sample objects.  Returns (and keeps) ``suspected_leaks``."""
        self.analyze_growth_pattern()
        snaps = self.snapshots
        leaks: List[Dict[str, Any]] = []
        if len(snaps) >= 2:
            verdicts = self._growth(snaps)
            named = [v for v in verdicts if "." in v["name"]]
            with_count = [v["name"] for v in named if "count" in v["by"]]
            samples = _samples(with_count, self._old_ids, self.samples) if with_count else {}
            for v in verdicts:
                leaks.append(self._describe(v, samples.get(v["name"], [])))
            samples.clear()
        garbage = len(gc.garbage) - (snaps[0].garbage if snaps else 0)
        if garbage > 0:
            leaks.append({"type": "uncollectable_garbage", "count": garbage,
                          "objects": [type_name(type(o)) for o in gc.garbage[-10:]],
                          "severity": "medium"})
        self.suspected_leaks = leaks
        return leaks

    def _growth(self, snaps: List[MemorySnapshot]) -> List[Dict[str, Any]]:
        """census_growth over the snapshots.  A loop that snapshots after
        each iteration ends with a "Final" snapshot that follows the last
        one with no work between: a type that grew on every interval but
        that trailing one, and did not shrink in it, leaks too."""
        def rule(series: List[MemorySnapshot]) -> List[Dict[str, Any]]:
            return _native.census_growth(
                [s.census for s in series], warmup=1,
                min_count=self.min_count, min_bytes=self.min_bytes,
                min_blocks=MIN_BLOCKS, min_traced=MIN_TRACED,
                ignore=[OWN_PREFIX, *self.ignore])

        verdicts = rule(snaps)
        if len(snaps) < 3 or snaps[-1].label != "Final":
            return verdicts
        seen = {v["name"] for v in verdicts}
        last, final = snaps[-2].census, snaps[-1].census
        for v in rule(snaps[:-1]):
            name = v["name"]
            if name in seen or "." not in name:
                continue
            if name not in final or name not in last:
                continue
            (n_last, b_last), (n_final, b_final) = last[name], final[name]
            if n_final >= n_last and ("bytes" not in v["by"] or b_final >= b_last):
                v["count"], v["bytes"] = n_final, b_final
                verdicts.append(v)
        return verdicts

    def _describe(self, verdict: Dict[str, Any], samples: List[Any]) -> Dict[str, Any]:
        count = sum(verdict["count_growth"])
        nbytes = sum(verdict["bytes_growth"])
        name = verdict["name"]
        pseudo = "." not in name
        leak: Dict[str, Any] = {
            "type": "continuous_growth" if pseudo else "growing_objects",
            "object_type": name,
            "by": list(verdict["by"]),
            "count": count,
            "bytes": nbytes,
            "count_growth": list(verdict["count_growth"]),
            "bytes_growth": list(verdict["bytes_growth"]),
            "live": verdict["count"],
            "live_bytes": verdict["bytes"],
            "severity": _severity(0 if pseudo else count, nbytes),
            "holders": [],
            "allocation_sites": [],
        }
        if pseudo:
            leak["note"] = "memory outside gc-tracked objects (str, bytes, int, ...)"
        elif not samples:
            leak["note"] = "grew in size, not in number: no sample object"
        for obj in samples:
            leak["holders"].append(" \u2192 ".join(referrer_chain(obj)))
            site = allocation_site(obj)
            if site:
                leak["allocation_sites"].append(site)
        if samples and not leak["allocation_sites"]:
            # tracemalloc was off, the object came from a free list, or (3.11)
            # its managed-dict pre-header hides the block from tracemalloc.
            leak["note"] = "allocation site unknown to tracemalloc"
            guess = _busiest_line() if _NO_DICT_TRACEBACKS else None
            if guess:
                leak["allocation_sites"].append([guess])
                leak["note"] = ("allocation site: the line holding the most traced memory "
                                "(a fallback: 3.11's tracemalloc has no traceback of objects "
                                "with a __dict__)")
        return leak

    def get_report(self) -> Dict[str, Any]:
        end = self.end_time if self.end_time is not None else time.time()
        return {
            "duration": end - (self.start_time if self.start_time is not None else end),
            "snapshots": len(self.snapshots),
            "object_stats": self.object_tracker.get_object_stats(),
            "growth_patterns": self.growth_patterns,
            "suspected_leaks": self.suspected_leaks,
            "snapshot_comparisons": self._comparisons(),
        }


# --------------------------------------------------------------------------
# Entry points


class _Ticker:
    """Snapshots every ``interval`` seconds from a helper thread."""

    def __init__(self, detector: MemoryLeakDetector, interval: float) -> None:
        self.detector = detector
        self.interval = interval
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="callflow-leak-snapshots",
                                       daemon=True)

    def _run(self) -> None:
        n = 0
        while not self.stopped.wait(self.interval):
            n += 1
            self.detector.take_snapshot(f"Interval_{n}")

    def close(self) -> None:
        self.stopped.set()
        self.thread.join()


@contextmanager
def detect_leaks(output_file: Optional[str] = None,
                 snapshot_interval: Optional[float] = None,
                 **options: Any) -> Iterator[MemoryLeakDetector]:
    """``with detect_leaks("leaks.html") as detector:`` runs a detector
    around the block; on exit (also when it raised) the report is written
    to ``output_file`` (".json": JSON, otherwise HTML).  With
    ``snapshot_interval`` a snapshot is also taken every that many seconds.
    ``options`` go to ``MemoryLeakDetector``."""
    detector = MemoryLeakDetector(**options)
    ticker: Optional[_Ticker] = None
    detector.start()
    if snapshot_interval:
        ticker = _Ticker(detector, snapshot_interval)
        ticker.thread.start()
    try:
        yield detector
    finally:
        if ticker is not None:
            ticker.close()
            ticker = None  # the thread object must not be alive at "Final"
        detector.stop()
        if output_file:
            from .memory_leak_visualizer import export_leak_report
            export_leak_report(detector, output_file)


def _print_summary(name: str, report: Dict[str, Any]) -> None:
    stats = report["object_stats"]
    print(f"\n{'=' * 60}\nMemory Allocation Report: {name}\n{'=' * 60}")
    print(f"Duration: {report['duration']:.3f}s")
    print(f"Snapshots: {report['snapshots']}")
    print(f"Objects tracked: {stats['total_tracked']}")
    leaks = report["suspected_leaks"]
    if leaks:
        print(f"\n{len(leaks)} suspected leak(s):")
        for leak in leaks:
            what = leak.get("object_type", leak["type"])
            print(f"  - {what}: {leak.get('count', 'N/A')} objects, {leak.get('bytes', 0)} bytes")
            for holder in leak.get("holders", [])[:1]:
                print(f"    held by {holder}")
    else:
        print("\nNo memory leaks detected.")
    print(f"{'=' * 60}\n")


def track_allocations(func: Optional[F] = None, *, verbose: bool = True) -> Any:
    """Decorator: run each call of ``func`` (plain or async) under a
    ``MemoryLeakDetector`` and print a summary to stdout (``verbose``);
    the name, docstring and return value are kept, and the last report is
    ``wrapper.last_leak_report``."""
    if func is None:
        return lambda f: track_allocations(f, verbose=verbose)
    target = func

    def finish(wrapper: Any, detector: MemoryLeakDetector) -> None:
        detector.stop()
        report = detector.get_report()
        wrapper.last_leak_report = report
        if verbose:
            _print_summary(target.__name__, report)

    if inspect.iscoroutinefunction(target):
        @functools.wraps(target)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            detector = MemoryLeakDetector()
            detector.start()
            try:
                return await target(*args, **kwargs)
            finally:
                finish(async_wrapper, detector)
        async_wrapper.last_leak_report = None  # type: ignore[attr-defined]
        return async_wrapper

    @functools.wraps(target)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        detector = MemoryLeakDetector()
        detector.start()
        try:
            return target(*args, **kwargs)
        finally:
            finish(wrapper, detector)
    wrapper.last_leak_report = None  # type: ignore[attr-defined]
    return wrapper


# Types that are cyclic by construction (a class and its __dict__, a module
# and its globals): never reported as a cycle found outside a detector.
_STRUCTURAL = (type, types.ModuleType, types.FunctionType, types.CodeType, types.FrameType)


def find_reference_cycles(detector: Optional[MemoryLeakDetector] = None,
                          limit: int = 50, max_objects: int = 200_000) -> List[List[Any]]:
    """Reference cycles among live objects created in the scope of
    ``detector`` (default: the innermost running one; with none, all live
    objects but classes, modules, functions, code and frames).  Each cycle
    is a list of objects, each referring to the next and the last to the
    first.  Bounded: at most ``limit`` cycles over at most ``max_objects``
    candidates.  The caller holds the objects it gets back."""
    if detector is None and _running:
        detector = _running[-1]
    old = detector._old_ids if detector is not None and detector.enabled else None
    _collect()
    objects = gc.get_objects()
    here = sys._getframe()
    candidates: Dict[int, Any] = {}
    try:
        for obj in objects:
            if len(candidates) >= max_objects:
                break
            oid = id(obj)
            if old is not None:
                if oid in old:
                    continue
            elif isinstance(obj, _STRUCTURAL):
                continue
            if obj is here or obj is objects or obj is old:
                continue
            candidates[oid] = obj
    finally:
        del objects
    if old is not None:
        _add_reused_containers(candidates, max_objects)
    skip = {id(candidates)}
    for key in list(candidates):
        if isinstance(candidates[key], types.FrameType):
            frame = candidates[key]
            if frame.f_code.co_filename == _OWN_FILE:
                del candidates[key]
    cycles = _cycles(candidates, skip, limit)
    candidates.clear()
    return cycles


_CONTAINERS = (dict, list, tuple, set)


def _add_reused_containers(candidates: Dict[int, Any], max_objects: int) -> None:
    """"New" is told by id, and dicts, lists and tuples come from free
    lists: a new instance's __dict__ often sits at the address of one that
    was alive at the start.  So plain containers that new objects refer to
    are candidates too (module globals excepted)."""
    modules = _module_dicts()
    for obj in list(candidates.values()):
        for ref in gc.get_referents(obj):
            rid = id(ref)
            if len(candidates) >= max_objects:
                return
            if rid not in candidates and type(ref) in _CONTAINERS and rid not in modules \
                    and gc.is_tracked(ref):
                candidates[rid] = ref


def _cycles(nodes: Dict[int, Any], skip: Set[int], limit: int) -> List[List[Any]]:
    """Strongly connected components (iterative Tarjan) of the reference
    graph restricted to ``nodes``; one simple cycle from each."""
    def succ(oid: int) -> List[int]:
        return [id(r) for r in gc.get_referents(nodes[oid]) if id(r) in nodes and id(r) not in skip]

    index: Dict[int, int] = {}
    low: Dict[int, int] = {}
    on_stack: Set[int] = set()
    stack: List[int] = []
    found: List[List[Any]] = []
    counter = 0
    for root in list(nodes):
        if root in index or len(found) >= limit:
            continue
        work: List[Tuple[int, Iterator[int]]] = [(root, iter(succ(root)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(succ(w))))
                    advanced = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                u = work[-1][0]
                low[u] = min(low[u], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                members = set(component)
                if len(component) > 1 or v in succ(v):
                    if len(found) < limit:
                        found.append([nodes[i] for i in _one_cycle(v, members, succ)])
    return found


def _one_cycle(start: int, members: Set[int], succ: Callable[[int], List[int]]) -> List[int]:
    """A shortest cycle through ``start`` inside one component (BFS)."""
    prev: Dict[int, int] = {}
    queue = deque([start])
    while queue:
        v = queue.popleft()
        for w in succ(v):
            if w not in members:
                continue
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(prev[path[-1]])
                path.reverse()
                return path
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return [start]


def get_memory_growth(interval: float = 1.0, iterations: int = 5) -> List[Dict[str, Any]]:
    """``iterations`` censuses ``interval`` seconds apart: iteration,
    timestamp, memory_usage (traced bytes while tracemalloc traces, else
    gc-tracked bytes), object_count, allocated_blocks; from the second on,
    memory_growth and object_growth against the one before."""
    out: List[Dict[str, Any]] = []
    for i in range(iterations):
        _collect()
        c = _native.census(f"Measurement_{i}")
        out.append({"iteration": i, "timestamp": time.time(),
                    "memory_usage": c.traced if c.traced is not None else c.bytes,
                    "object_count": c.objects, "allocated_blocks": c.blocks})
        del c
        if i < iterations - 1:
            time.sleep(interval)
    for prev, cur in zip(out, out[1:]):
        cur["memory_growth"] = cur["memory_usage"] - prev["memory_usage"]
        cur["object_growth"] = cur["object_count"] - prev["object_count"]
    return out


def get_top_memory_consumers(limit: int = 10) -> List[Dict[str, Any]]:
    """The types whose live gc-tracked objects take the most bytes: type,
    size (bytes), count, size_mb; biggest first.  (The original listed
    tracemalloc lines, seen only from the moment it started tracemalloc,
    under the key ``file``: kept, holding the type name, so that code
    reading it still runs.)"""
    c = _native.census()
    rows = sorted(((b, n, name) for name, (n, b) in c.types().items() if not _is_own(name)),
                  key=lambda r: (-r[0], r[2]))
    return [{"type": name, "file": name, "size": b, "count": n, "size_mb": b / 1024 / 1024}
            for b, n, name in rows[:max(limit, 0)]]
