"""Load time of the HTML report of a 5,000-function graph in Chromium
(target: under 1.5 s), and how responsive the page stays.

    PYTHON bench/html_load.py [--functions 5000] [--rounds 5] [--keep DIR] [--json PATH]

Traces a generated program of --functions functions (tests/browser/
bigprogram.py: a call tree over 50 modules with helpers, loops, recursion),
writes its report with export_html, and opens it --rounds times in
Debian's chromium (headless, through Playwright; nothing is downloaded).
The load time is from navigation start to the first frame after the page
has drawn its default view (the call graph: layout, every node and edge);
it includes reading the file, parsing the data and the layout.  Then, on
the loaded page: a search over all functions, a wheel zoom (the frame
time while zooming), switching to the flame graph, a click-zoom in it.
Prints medians in milliseconds; needs `pip install playwright` and
`apt-get install chromium`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from typing import Any, Dict, List

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(_ROOT, "tests", "browser"))

from bigprogram import build  # noqa: E402

from pytest_callflow import trace_scope  # noqa: E402
from pytest_callflow.html import export_html  # noqa: E402

TARGET_MS = 1500.0

# In the page: the time of one action up to the next frame drawn after it.
_TIMED = """async (action) => {
  const t0 = performance.now();
  action === 'search' ? CF.report.graph.search('f12') :
  action === 'clear' ? CF.report.graph.search('') :
  action === 'flame' ? document.querySelector('[data-tab=flame]').click() :
  action === 'flamezoom' ? CF.report.flame.zoomTo(1) :
  action === 'flameout' ? CF.report.flame.zoomTo(-1) : null;
  await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  return performance.now() - t0;
}"""

# Ten wheel steps, one per frame: the mean and worst frame interval.
_ZOOM = """async () => {
  const svg = document.querySelector('svg.cg'), r = svg.getBoundingClientRect();
  const frames = [];
  let last = performance.now();
  for (let i = 0; i < 10; i++) {
    svg.dispatchEvent(new WheelEvent('wheel', {deltaY: i < 5 ? -120 : 120, clientX: r.left + r.width / 2,
                                               clientY: r.top + r.height / 2, bubbles: true, cancelable: true}));
    await new Promise(res => requestAnimationFrame(() => requestAnimationFrame(res)));
    const now = performance.now();
    frames.push(now - last);
    last = now;
  }
  return frames;
}"""


def make_report(functions: int, directory: str) -> Dict[str, Any]:
    entry = build(functions)
    with trace_scope() as graph:
        entry()
    path = os.path.join(directory, f"graph-{functions}.html")
    t0 = time.perf_counter()
    export_html(graph, path, title=f"{functions} functions")
    written = time.perf_counter() - t0
    nodes = sum(1 for _ in graph.root.walk()) - 1
    return {"path": path, "functions": len(graph), "edges": len(list(graph.edges())),
            "paths": nodes, "calls": graph.total_calls, "bytes": os.path.getsize(path),
            "export_ms": written * 1000}


def measure(path: str, rounds: int) -> Dict[str, Any]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("chromium not found: apt-get install chromium")
    url = "file://" + os.path.abspath(path)
    loads: List[float] = []
    actions: Dict[str, List[float]] = {}
    frames: List[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium)
        try:
            for n in range(rounds + 1):  # the first round warms the browser up
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                errors: List[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(url)
                page.wait_for_function("window.callflowReadyAt !== undefined", timeout=60000)
                if errors:
                    raise SystemExit(f"the page failed: {errors[0]}")
                if n:
                    loads.append(page.evaluate("window.callflowReadyAt"))
                    for action in ("search", "clear", "flame", "flamezoom", "flameout"):
                        if action == "flame":
                            frames.extend(page.evaluate(_ZOOM))
                        actions.setdefault(action, []).append(page.evaluate(_TIMED, action))
                page.close()
        finally:
            browser.close()
    return {"load_ms": statistics.median(loads), "load_max_ms": max(loads),
            "actions_ms": {k: statistics.median(v) for k, v in actions.items()},
            "zoom_frame_ms": statistics.median(frames), "zoom_frame_max_ms": max(frames)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--functions", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", metavar="DIR", help="write the report here and keep it")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args()
    directory = args.keep or tempfile.mkdtemp(prefix="callflow-html-bench-")
    os.makedirs(directory, exist_ok=True)
    try:
        report = make_report(args.functions, directory)
        figures = measure(report["path"], args.rounds)
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)
    figures.update({k: v for k, v in report.items() if k != "path"})
    print(f"report: {report['functions']} functions, {report['edges']} edges, "
          f"{report['paths']} call paths, {report['calls']} calls; "
          f"{report['bytes'] / 1024:.0f} KiB, written in {report['export_ms']:.0f} ms")
    verdict = "under" if figures["load_ms"] < TARGET_MS else "OVER"
    print(f"load in chromium (median of {args.rounds}): {figures['load_ms']:.0f} ms "
          f"(max {figures['load_max_ms']:.0f} ms; {verdict} the {TARGET_MS:.0f} ms target)")
    for action, ms in figures["actions_ms"].items():
        print(f"  {action:<10} {ms:7.1f} ms to the next frame")
    print(f"  wheel zoom: {figures['zoom_frame_ms']:.1f} ms per frame "
          f"(worst {figures['zoom_frame_max_ms']:.1f} ms)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
