"""The leak report (callflow_tracer's export_leak_report) and the asyncio
task timeline in Chromium: they render without errors, hostile type names
are shown and not run, the timeline draws a row per task, marks the
blocking steps and zooms."""

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any, List

from callflow_tracer import detect_leaks, export_leak_report
from pytest_callflow import CallGraph, trace_scope
from pytest_callflow.html import export_html

_KEPT: List[Any] = []

ASYNC_INFO = {
    "tasks": [
        {"id": 1, "name": "Task-1", "function": "app:main", "parent": None, "thread": 1,
         "start_ns": 0, "end_ns": 9_000_000, "state": "finished", "steps": 2,
         "active_ns": 3_000_000, "longest_step_ns": 2_000_000},
        {"id": 2, "name": "<img src=x onerror=window.__pwned=1>", "function": "app:worker",
         "parent": 1, "thread": 1, "start_ns": 1_000_000, "end_ns": None, "state": "pending",
         "steps": 2, "active_ns": 5_000_000, "longest_step_ns": 4_000_000},
        {"id": 3, "name": "Task-3", "function": "app:worker", "parent": 1, "thread": 1,
         "start_ns": 1_500_000, "end_ns": 6_000_000, "state": "cancelled", "steps": 1,
         "active_ns": 500_000, "longest_step_ns": 500_000},
    ],
    "timeline": [[0, 1, "start"], [1_000_000, 1, "suspend"], [1_000_000, 2, "start"],
                 [5_000_000, 2, "suspend"], [5_000_000, 3, "start"], [5_500_000, 3, "suspend"],
                 [6_000_000, 3, "cancel"], [7_000_000, 1, "resume"], [8_000_000, 2, "resume"],
                 [8_500_000, 2, "suspend"], [9_000_000, 1, "finish"]],
    "timeline_dropped": 0, "peak_concurrency": 3, "avg_concurrency": 1.75,
    "per_function_peak": {"app:main": 1, "app:worker": 2}, "blocking_threshold_ns": 3_000_000,
    "blocking": [{"task": 2, "function": "app:worker", "start_ns": 1_000_000,
                  "duration_ns": 4_000_000}],
    "blocking_dropped": 0, "longest_step_ns": 4_000_000, "longest_step_function": "app:worker",
    "groups": [{"label": "gather_traced #1", "tasks": [2, 3]}],
}


class Handler:
    pass


def test_leak_report(report_page: Any, tmp_path: Path) -> None:
    hostile = type("<script>window.__pwned=1</script>", (), {"__module__": __name__})
    with detect_leaks() as detector:
        for _ in range(3):
            _KEPT.append(Handler())
            _KEPT.append(hostile())
            detector.take_snapshot('"><img src=x onerror=window.__pwned=2>')
    path = tmp_path / "leaks.html"
    export_leak_report(detector, str(path))
    page = report_page.open_plain(path)
    assert page.locator("svg").count() >= 1
    assert "Handler" in page.inner_text("body")
    assert "<script>window.__pwned=1</script>" in page.inner_text("body")
    assert page.evaluate("window.__pwned") is None
    _KEPT.clear()


def test_timeline_of_a_hand_built_task_record(report_page: Any, tmp_path: Path) -> None:
    doc = {"schema": "callflow/1", "functions": {"app:main": {"calls": 1}, "app:worker": {"calls": 2}},
           "edges": {}, "tree": [["app:main", 0, 1]], "async": ASYNC_INFO,
           "meta": {"node_cap": 0, "total_calls": 3, "truncated_calls": 0, "truncated_paths": 0}}
    path = export_html(CallGraph.from_dict(doc), tmp_path / "tasks.html")
    page = report_page.open(path, "tasks")
    panel = page.locator("[data-panel=tasks]")
    assert panel.locator("svg.timeline text.task-label").count() == 3
    assert "onerror=window.__pwned=1> worker" in " ".join(panel.locator("text.task-label").all_text_contents())
    assert panel.locator("rect.blocking").count() == 1
    assert panel.locator("rect.step").count() == 5
    assert panel.locator("line.life.state-cancelled").count() == 1
    cards = panel.locator(".cards").inner_text().upper()
    assert "3\nPEAK CONCURRENCY" in cards and "1.75" in cards
    panel.locator("rect.blocking").hover()
    assert "ran for" in page.inner_text("#tooltip") and "4.00 ms" in page.inner_text("#tooltip")
    assert "gather_traced #1" in panel.inner_text()
    report_page.shot("timeline")
    # wheel over the chart zooms the time axis: the ticks change
    ticks = panel.locator("text.tick").all_text_contents()
    box = panel.locator("svg.timeline").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + 40)
    page.mouse.wheel(0, -600)
    report_page.wait("t => JSON.stringify([...document.querySelectorAll('[data-panel=tasks] text.tick')]"
                     ".map(e => e.textContent)) !== t", json.dumps(ticks))
    assert page.evaluate("window.__pwned") is None


async def _worker(n: int) -> int:
    await asyncio.sleep(0.002 * n)
    time.sleep(0.03 if n == 2 else 0)  # blocks the loop
    return n


async def _main() -> List[int]:
    return await asyncio.gather(*(_worker(n) for n in range(4)))


def test_timeline_of_a_traced_gather(report_page: Any, tmp_path: Path) -> None:
    # In a thread of its own: Playwright's sync API keeps an event loop
    # running in this one.  (Threads started in a scope are traced.)
    with trace_scope(scope=[__name__], blocking_threshold=0.02) as graph:
        runner = threading.Thread(target=lambda: asyncio.run(_main()))
        runner.start()
        runner.join()
    info = graph.async_info
    assert info is not None and info["peak_concurrency"] == 4
    path = export_html(graph, tmp_path / "gather.html")
    page = report_page.open(path)
    page.click("[data-tab=tasks]")
    panel = page.locator("[data-panel=tasks]")
    assert panel.locator("text.task-label").count() == len(info["tasks"])
    assert panel.locator("rect.blocking").count() == len(info["blocking"]) >= 1
    assert "_worker" in panel.locator("table.data").first.inner_text()
