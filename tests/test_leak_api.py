"""The original CallFlow Tracer's leak API (callflow_tracer.memory_leak_detector
and memory_leak_visualizer) on the C heap census: leaks found and named with
their holders, clean code not flagged, trackers that keep nothing alive,
cycles found, the user's gc state left alone, a report that is safe to open."""

import asyncio
import gc
import json
import re
import sys
import tracemalloc
import weakref
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

import callflow_tracer
from callflow_tracer.memory_leak_detector import (
    MemoryLeakDetector,
    MemorySnapshot,
    ObjectTracker,
    detect_leaks,
    find_reference_cycles,
    get_memory_growth,
    get_top_memory_consumers,
    track_allocations,
)
from callflow_tracer.memory_leak_visualizer import export_leak_report, render_leak_report

# The leak of the tests: a module-global list that only grows.
_LEAKED: List[Any] = []


class Handler:
    def __init__(self, n: int) -> None:
        self.n = n


class Scratch:
    pass


def register(n: int) -> None:
    _LEAKED.append(Handler(n))


def clean_work(n: int) -> int:
    items = [Scratch() for _ in range(50)]
    table = {i: [i, str(i)] for i in range(20)}
    for a, b in zip(items, items[1:]):
        a.next = b  # type: ignore[attr-defined]
    items[-1].next = items[0]  # type: ignore[attr-defined]  # a cycle, freed by gc
    return len(items) + len(table) + n


@pytest.fixture(autouse=True)
def _empty_leak_list() -> Iterator[None]:
    _LEAKED.clear()
    yield
    _LEAKED.clear()


def leaks_named(detector: MemoryLeakDetector) -> Dict[str, Dict[str, Any]]:
    return {lk["object_type"]: lk for lk in detector.suspected_leaks if "object_type" in lk}


HANDLER = f"{__name__}.Handler"
SCRATCH = f"{__name__}.Scratch"


def test_module_global_leak_is_found_and_named_with_its_holder() -> None:
    with detect_leaks() as detector:
        for i in range(4):
            register(i)
            detector.take_snapshot(f"iteration {i}")
    leaks = leaks_named(detector)
    assert HANDLER in leaks, detector.suspected_leaks
    leak = leaks[HANDLER]
    assert leak["type"] == "growing_objects"
    assert leak["count_growth"] == [1, 1, 1, 1]
    assert leak["count"] == 4 and leak["live"] == 4
    assert leak["severity"] == "low"
    assert leak["holders"], leak
    holder = leak["holders"][0]
    assert re.fullmatch(rf"{re.escape(__name__)}\._LEAKED \(module global\) → list\[\d\] → Handler",
                        holder), holder
    # Allocation site: the line of register() that made the Handler (3.11's
    # tracemalloc cannot see instances with a managed dict: it starts before the object).
    if sys.version_info[:2] != (3, 11):
        assert leak["allocation_sites"], leak
        assert leak["allocation_sites"][0][0].startswith(f"{__file__}:")
    else:
        assert leak["note"].startswith("allocation site: the line holding the most traced")
        assert leak["allocation_sites"][0][0].startswith(f"{__file__}:")
    # Nothing else is blamed: the detector's own snapshots are not growth.
    assert not any(n.startswith("callflow_tracer.") for n in leaks)


def test_leak_found_with_only_start_and_final_snapshots() -> None:
    with detect_leaks() as detector:
        for i in range(3):
            register(i)
    leak = leaks_named(detector)[HANDLER]
    assert leak["count_growth"] == [3]
    assert "_LEAKED (module global)" in leak["holders"][0]
    assert detector.get_report()["snapshots"] == 2


@pytest.mark.parametrize("per_iteration", [True, False])
def test_clean_loop_is_not_flagged(per_iteration: bool) -> None:
    clean_work(0)  # warm whatever the first call warms
    with detect_leaks() as detector:
        for i in range(6):
            clean_work(i)
            if per_iteration:
                detector.take_snapshot()
    assert detector.suspected_leaks == []
    report = detector.get_report()
    assert report["snapshots"] == (8 if per_iteration else 2)
    # The snapshots never appear as growth of the detector's own types.
    for comparison in report["snapshot_comparisons"]:
        assert not any(n.startswith("callflow_tracer.") for n in comparison["type_changes"])
        assert SCRATCH not in comparison["type_changes"]


def test_cache_warmed_on_the_first_iteration_is_not_a_leak() -> None:
    cache: Dict[int, Handler] = {}

    def cached(n: int) -> Handler:
        return cache.setdefault(n % 3, Handler(n))

    with detect_leaks() as detector:
        for i in range(6):
            cached(0)
            cached(1)
            cached(2)
            detector.take_snapshot()
    assert HANDLER not in leaks_named(detector)
    assert len(cache) == 3


def test_snapshot_compare_to_shape() -> None:
    first = MemorySnapshot("first")
    keep = [Scratch() for _ in range(7)]
    second = MemorySnapshot("second")
    diff = second.compare_to(first)
    assert set(diff) == {"time_diff", "memory_diff", "objects_diff", "type_changes"}
    assert diff["time_diff"] >= 0
    assert diff["type_changes"][SCRATCH]["before"] == 0
    assert diff["type_changes"][SCRATCH]["after"] == 7
    assert diff["type_changes"][SCRATCH]["diff"] == 7
    assert diff["type_changes"][SCRATCH]["bytes_diff"] == 7 * sys.getsizeof(keep[0])
    assert diff["objects_diff"] >= 7
    assert not any(n.startswith("callflow_tracer.") for n in diff["type_changes"])
    assert first.label == "first" and first.object_counts.get(SCRATCH, 0) == 0
    assert second.object_counts[SCRATCH] == 7
    assert set(second.gc_stats) == {"collections", "objects", "garbage"}
    back = first.compare_to(second)
    assert back["type_changes"][SCRATCH]["diff"] == -7


def test_object_tracker_keeps_nothing_alive() -> None:
    tracker = ObjectTracker()
    obj = Scratch()
    probe = weakref.ref(obj)
    assert tracker.track_object(obj) is True
    stats = tracker.get_object_stats()
    assert stats["total_tracked"] == 1 and stats["currently_live"] == 1
    live = tracker.get_live_objects()
    assert live == {id(obj): obj}
    del live, obj
    gc.collect()
    assert probe() is None  # the tracker did not keep it
    stats = tracker.get_object_stats()
    assert stats["currently_live"] == 0
    assert stats["freed_count"] == 1
    assert stats["leaked_count"] == 0  # freed is not leaked
    assert [e["action"] for e in tracker.allocation_timeline] == ["allocated", "freed"]
    assert tracker.get_live_objects() == {}


def test_object_tracker_keeps_non_weakrefable_objects_as_id_and_type() -> None:
    tracker = ObjectTracker()
    items = [1, 2, 3]
    refs = sys.getrefcount(items)
    assert tracker.track_object(items) is False
    assert sys.getrefcount(items) == refs  # no strong reference taken
    stats = tracker.get_object_stats()
    assert stats["untrackable"] == 1 and stats["currently_live"] == 0
    trace = tracker.allocation_traces[id(items)]
    assert trace["type"] == "builtins.list"
    assert trace["weakrefable"] is False and trace["alive"] is None
    assert "test_leak_api.py" in trace["trace"]


def test_find_reference_cycles_finds_a_cycle_created_in_scope() -> None:
    old_a, old_b = Scratch(), Scratch()
    old_a.other, old_b.other = old_b, old_a  # type: ignore[attr-defined]
    with detect_leaks() as detector:
        a, b = Handler(1), Handler(2)
        a.peer, b.peer = b, a  # type: ignore[attr-defined]
        cycles = find_reference_cycles()
        assert detector.enabled
    flat = [[id(o) for o in cycle] for cycle in cycles]
    # a -> a.__dict__ (or inline values) -> b -> ... -> a
    assert any(id(a) in ids and id(b) in ids for ids in flat), [
        [type(o).__name__ for o in c] for c in cycles]
    # Cycles that existed before the detector started are not its business.
    assert not any(id(old_a) in ids for ids in flat)
    for cycle in cycles:  # each object refers to the next, the last to the first
        for x, y in zip(cycle, cycle[1:] + cycle[:1]):
            assert any(r is y for r in gc.get_referents(x))
    del cycles, flat


@pytest.fixture
def gc_state() -> Iterator[None]:
    saved = (gc.isenabled(), gc.get_threshold(), gc.get_debug())
    yield
    gc.set_threshold(*saved[1])
    gc.set_debug(saved[2])
    (gc.enable if saved[0] else gc.disable)()


def test_user_gc_settings_are_restored_and_nothing_is_printed(
        gc_state: None, capfd: pytest.CaptureFixture) -> None:
    gc.disable()
    gc.set_threshold(1234, 5, 6)
    gc.set_debug(gc.DEBUG_STATS)  # would print on every collection we made
    with detect_leaks() as detector:
        register(1)
        detector.take_snapshot()
        find_reference_cycles()
    state = (gc.isenabled(), gc.get_threshold(), gc.get_debug())
    gc.set_debug(0)
    out, err = capfd.readouterr()
    assert state == (False, (1234, 5, 6), gc.DEBUG_STATS)
    assert err == ""
    assert out == ""


def test_tracemalloc_is_left_as_found() -> None:
    assert not tracemalloc.is_tracing()
    with detect_leaks():
        assert tracemalloc.is_tracing()
    assert not tracemalloc.is_tracing()
    tracemalloc.start()
    try:
        with detect_leaks():
            pass
        assert tracemalloc.is_tracing()
    finally:
        tracemalloc.stop()


def test_report_shape() -> None:
    detector = MemoryLeakDetector()
    detector.start()
    register(1)
    detector.take_snapshot("middle")
    detector.stop()
    report = detector.get_report()
    assert set(report) == {"duration", "snapshots", "object_stats", "growth_patterns",
                           "suspected_leaks", "snapshot_comparisons"}
    assert report["snapshots"] == 3
    assert [s.label for s in detector.snapshots] == ["Initial", "middle", "Final"]
    assert len(report["snapshot_comparisons"]) == 2
    assert report["growth_patterns"][0]["type_changes"][HANDLER]["diff"] == 1
    assert {"total_tracked", "currently_live", "leaked_count", "type_distribution",
            "timeline_events"} <= set(report["object_stats"])
    json.dumps(report)  # plain data


def test_detect_leaks_writes_json_and_html(tmp_path: Path) -> None:
    with detect_leaks(str(tmp_path / "out" / "leaks.json")):
        register(1)
    data = json.loads((tmp_path / "out" / "leaks.json").read_text(encoding="utf-8"))
    assert HANDLER in {lk.get("object_type") for lk in data["suspected_leaks"]}
    with pytest.raises(KeyError):
        with detect_leaks(str(tmp_path / "leaks.html")):
            register(2)
            raise KeyError("the block failed")
    text = (tmp_path / "leaks.html").read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "Handler" in text and "_LEAKED (module global)" in text
    assert "<svg" in text and "<polyline" in text


def test_html_is_self_contained_and_escapes_hostile_names(tmp_path: Path) -> None:
    hostile_name = "<script>alert(1)</script>"
    hostile = type(hostile_name, (), {"__module__": __name__})
    with detect_leaks() as detector:
        for _ in range(3):
            _LEAKED.append(hostile())
            detector.take_snapshot('"><img src=x onerror=alert(2)>')
    assert f"{__name__}.{hostile_name}" in leaks_named(detector)
    path = tmp_path / "hostile.html"
    export_leak_report(detector, str(path))
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"https?://", text)
    assert "<script>alert(1)" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<img" not in text and "&lt;img src=x" in text
    # Only the report's own script, no external resource of any kind.
    assert text.count("<script") == 1 and "src=" not in text.replace("src=x", "")
    assert render_leak_report(detector.get_report()) == text


def test_track_allocations_keeps_name_and_return(capsys: pytest.CaptureFixture) -> None:
    @track_allocations
    def build(n: int) -> List[int]:
        """Doc."""
        register(n)
        return list(range(n))

    assert build(3) == [0, 1, 2]
    assert build.__name__ == "build" and build.__doc__ == "Doc."
    report = build.last_leak_report  # type: ignore[attr-defined]
    assert HANDLER in {lk.get("object_type") for lk in report["suspected_leaks"]}
    out, err = capsys.readouterr()
    assert "Memory Allocation Report: build" in out and err == ""

    @track_allocations(verbose=False)
    async def fetch() -> str:
        return "done"

    assert asyncio.run(fetch()) == "done"
    assert fetch.__name__ == "fetch"
    assert capsys.readouterr().out == ""


def test_growth_and_top_consumers() -> None:
    growth = get_memory_growth(interval=0.0, iterations=3)
    assert [m["iteration"] for m in growth] == [0, 1, 2]
    assert "memory_growth" not in growth[0] and "object_growth" in growth[2]
    keep = [Scratch() for _ in range(20_000)]
    top = get_top_memory_consumers(limit=50)
    assert 0 < len(top) <= 50
    assert [t["size"] for t in top] == sorted((t["size"] for t in top), reverse=True)
    row = next(t for t in top if t["type"] == SCRATCH)
    assert row["file"] == SCRATCH  # the original's key, kept
    assert row["count"] == 20_000 and row["size"] == 20_000 * sys.getsizeof(keep[0])


def test_names_are_exported_from_the_package() -> None:
    for name in ("MemoryLeakDetector", "MemorySnapshot", "ObjectTracker", "detect_leaks",
                 "track_allocations", "find_reference_cycles", "get_memory_growth",
                 "get_top_memory_consumers", "export_leak_report"):
        assert hasattr(callflow_tracer, name), name
