"""The report of one graph in Chromium: the call graph (every function
drawn, search, hover details, zoom, selection), the flame graph (a click
zooms to a path, search marks the matching paths), the function table,
hostile names shown and not run, and a 5,000-function graph."""

import gc
from pathlib import Path
from typing import Any, Iterator

import pytest

from pytest_callflow import CallGraph, trace_scope
from pytest_callflow.html import export_html

from .bigprogram import build

HOSTILE = ("evil</script><script>window.__pwned=1</script>:f",
           "x<!--y:<img src=x onerror=window.__pwned=2>")


class Shop:
    def total(self, items: range) -> int:
        return sum(self.price(i) for i in items)

    def price(self, item: int) -> int:
        return item * 2


def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def run() -> None:
    shop = Shop()
    for _ in range(3):
        shop.total(range(10))
    fib(8)


@pytest.fixture(scope="module")
def graph() -> CallGraph:
    # The flame graph's widths are times: a collection (a full one takes
    # milliseconds late in the suite) inside this microsecond program would
    # make one bar all of it.
    gc.collect()
    gc.disable()
    try:
        with trace_scope(scope=[__name__]) as recorded:
            run()
    finally:
        gc.enable()
    return recorded


@pytest.fixture(scope="module")
def report(graph: CallGraph, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield Path(export_html(graph, tmp_path_factory.mktemp("graph") / "graph.html",
                           title="A traced run"))


def name_of(fn: Any) -> str:
    return f"{__name__}:{fn.__qualname__}"


def test_call_graph_renders_searches_and_selects(report_page: Any, report: Path,
                                                 graph: CallGraph) -> None:
    page = report_page.open(report)
    assert page.inner_text("#title") == "A traced run"
    assert page.locator("svg.cg rect.node").count() == len(graph)
    assert page.locator("svg.cg path.edge").count() >= 1
    labels = page.locator("svg.cg text.label").all_text_contents()
    assert "fib \u00d7" + str(graph.calls(fib)) in labels
    # search: one match marked, the rest dimmed; Enter selects it
    page.fill("[data-panel=graph] input.search", "Shop.price")
    report_page.wait("() => document.querySelectorAll('svg.cg rect.node.hit').length === 1")
    assert "1 of" in page.inner_text("[data-panel=graph] .count")
    assert "searching" in (page.get_attribute("svg.cg", "class") or "")
    page.press("[data-panel=graph] input.search", "Enter")
    details = page.locator(".cg-details")
    details.wait_for(state="visible")
    assert name_of(Shop.price) in details.inner_text()
    assert name_of(Shop.total) in details.locator("ul.links").first.inner_text()  # its caller
    report_page.shot("selected")
    # hover: the tooltip names the function and its calls
    page.fill("[data-panel=graph] input.search", "")
    page.locator("svg.cg rect.node").nth(0).hover()
    tooltip = page.locator("#tooltip")
    tooltip.wait_for(state="visible")
    assert "calls" in tooltip.inner_text()
    # zoom: the viewport's transform changes
    before = page.get_attribute("svg.cg g.viewport", "transform")
    page.click("[data-panel=graph] button[aria-label='zoom in']")
    report_page.wait("t => document.querySelector('svg.cg g.viewport')"
                     ".getAttribute('transform') !== t", before)


def test_flame_graph_click_zooms_and_search_marks(report_page: Any, report: Path) -> None:
    page = report_page.open(report)
    page.click("[data-tab=flame]")
    page.locator("svg.flame rect.fr").first.wait_for()
    width = float(page.get_attribute("svg.flame", "width") or 0)
    # the bar of Shop.total (the path run > Shop.total)
    j = page.locator("svg.flame text.fl", has_text="Shop.total").first.get_attribute("data-j")
    bar = page.locator(f"svg.flame rect.fr[data-j='{j}']")
    assert float(bar.get_attribute("width") or 0) < width * 0.9
    bar.click()
    report_page.wait("([j, w]) => +document.querySelector(`svg.flame rect.fr[data-j='${j}']`)"
                     ".getAttribute('width') >= w - 1", [j, width])
    assert "Shop.total" in page.inner_text("[data-panel=flame] .crumbs")
    assert page.locator("svg.flame text.fl", has_text="fib").count() == 0  # outside the zoom
    report_page.shot("zoomed")
    page.click("[data-panel=flame] button:has-text('reset zoom')")
    report_page.wait("() => !document.querySelector('[data-panel=flame] .crumbs')"
                     ".innerText.includes('Shop.total')")
    # search: every path through fib is marked, the share is told
    page.fill("[data-panel=flame] input.search", "fib")
    report_page.wait("() => document.querySelectorAll('svg.flame rect.fr.hit').length > 0")
    assert "% of the shown total" in page.inner_text("[data-panel=flame] .count")
    hits = page.locator("svg.flame rect.fr.hit").count()
    texts = page.locator("svg.flame text.fl").all_text_contents()
    assert hits >= sum(1 for t in texts if t == "fib")


def test_function_table_filters(report_page: Any, report: Path, graph: CallGraph) -> None:
    page = report_page.open(report, "functions")
    rows = page.locator("[data-panel=functions] table.data tbody tr")
    assert rows.count() == len(graph)
    page.fill("[data-panel=functions] input.search", "fib")
    report_page.wait("() => document.querySelectorAll("
                     "'[data-panel=functions] table.data tbody tr').length === 1")
    assert rows.first.locator("td").nth(1).inner_text() == str(graph.calls(fib))


def test_hostile_names_are_shown_not_run(report_page: Any, tmp_path: Path) -> None:
    doc = {"schema": "callflow/1", "functions": {n: {"calls": 1} for n in HOSTILE},
           "edges": {HOSTILE[0]: {HOSTILE[1]: 1}}, "tree": [[HOSTILE[0], 0, 1], [HOSTILE[1], 1, 1]],
           "meta": {"node_cap": 0, "total_calls": 2, "truncated_calls": 0, "truncated_paths": 0}}
    title = "<script>window.__pwned=3</script>"
    path = export_html(CallGraph.from_dict(doc), tmp_path / "hostile.html", title=title)
    page = report_page.open(path)
    assert page.evaluate("window.__pwned") is None
    assert page.inner_text("#title") == title
    assert page.evaluate("document.querySelectorAll('img, #app script').length") == 0
    page.fill("[data-panel=graph] input.search", "evil")
    page.press("[data-panel=graph] input.search", "Enter")
    assert HOSTILE[0] in page.inner_text(".cg-details h3")
    page.click("[data-tab=flame]")
    page.locator("svg.flame rect.fr[data-j='1']").hover()
    assert HOSTILE[1] in page.inner_text("#tooltip")
    assert page.evaluate("window.__pwned") is None


def test_a_5000_function_graph(report_page: Any, tmp_path: Path) -> None:
    entry = build(5000, package="browserapp")
    with trace_scope(scope=["browserapp"]) as graph:
        entry()
    path = export_html(graph, tmp_path / "big.html")
    page = report_page.open(path)
    # One node per function: the program's 5,000, and any outside code the
    # collector ran inside them (a finalizer, a weakref callback: leaves).
    functions = [f.name for f in graph.functions()]
    assert sum(n.startswith("browserapp.") for n in functions) == 5000
    assert page.locator("svg.cg rect.node").count() == len(functions)
    # information only (bench/html_load.py measures it properly)
    print(f"5,000-function report drawn {page.evaluate('window.callflowReadyAt'):.0f} ms "
          f"after navigation")
    page.fill("[data-panel=graph] input.search", "browserapp.m3:f1003")
    report_page.wait("() => document.querySelectorAll('svg.cg rect.node.hit').length === 1")
    page.click("[data-tab=flame]")
    page.locator("svg.flame rect.fr").first.wait_for()
    assert page.locator("svg.flame rect.fr").count() > 100


def test_an_empty_graph(report_page: Any, tmp_path: Path) -> None:
    page = report_page.open(export_html(CallGraph(), tmp_path / "empty.html"))
    assert "No function was recorded." in page.inner_text("[data-panel=graph]")
    page.click("[data-tab=flame]")
    assert "No calling-context tree" in page.inner_text("[data-panel=flame]")
