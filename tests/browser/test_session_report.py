"""The session report of ``pytest --callflow --callflow-html`` in Chromium:
the index (verdicts, filters, sorting), each test's graph, flame graph,
baseline diff and leaks, and a test id holding markup shown, not run."""

from pathlib import Path
from typing import Any

import pytest

from plugin_projects import Project, text

EVIL_ID = "test_new.py::test_fresh[<script>window.__pwned=1</script>]"

LEAKY = """
import pytest

from shop.cart import price

_KEPT = []


class Handler:
    pass


@pytest.mark.callflow_leaks(runs=3, warmup=1)
def test_keeps_handlers():
    _KEPT.append(Handler())
    assert price(1) == 2
"""


@pytest.fixture
def report(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A run with a regression (test_total: 10 -> 30 calls of price), a
    new test with a hostile id, a leaking test and unchanged ones."""
    project = Project(pytester, monkeypatch)
    project.regressed_with_new_test()
    project.write("test_leaky.py", LEAKY)
    result = project.run("--callflow", "--callflow-html=report.html")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, text(result)
    return project.root / "report.html"


def rows_shown(page: Any) -> int:
    return page.locator(".index table.data tbody tr").count()


def test_index_filters_sorts_and_links(report_page: Any, report: Path) -> None:
    page = report_page.open(report)
    assert rows_shown(page) == 4
    assert page.evaluate("window.__pwned") is None
    assert EVIL_ID in page.locator("a.test-link").all_inner_texts()
    # verdict filter
    page.select_option("select[aria-label=verdict]", "regressed")
    report_page.wait("() => document.querySelectorAll('.index table.data tbody tr').length === 1")
    assert page.locator("a.test-link").inner_text() == "test_cart.py::test_total"
    page.select_option("select[aria-label=verdict]", "")
    # leak filter
    page.select_option("select[aria-label=leaks]", "leaked")
    report_page.wait("() => document.querySelectorAll('.index table.data tbody tr').length === 1")
    assert page.locator("a.test-link").inner_text() == "test_leaky.py::test_keeps_handlers"
    page.select_option("select[aria-label=leaks]", "")
    # text filter
    page.fill(".index input.search", "fresh")
    report_page.wait("() => document.querySelectorAll('.index table.data tbody tr').length === 1")
    page.fill(".index input.search", "")
    report_page.wait("() => document.querySelectorAll('.index table.data tbody tr').length === 4")
    # sort by calls, most first
    page.click(".index th[data-key=calls]")
    calls = [int(c.replace(",", "")) for c in
             page.locator(".index table.data tbody tr td:nth-child(3)").all_inner_texts()]
    assert calls == sorted(calls, reverse=True) and calls[0] == 33
    report_page.shot("index")
    # the test's own page, then back
    page.click("a.test-link:has-text('test_total')")
    report_page.wait("() => document.querySelector('h2.test-id') !== null")
    assert page.inner_text("h2.test-id") == "test_cart.py::test_total"
    assert "shop.cart:price calls 10" in page.inner_text("ul.findings")
    assert page.locator("[data-panel=graph] svg.cg rect.node").count() >= 3
    page.click("a.back")
    report_page.wait("() => document.querySelector('.index') !== null")


def test_each_test_links_to_its_views(report_page: Any, report: Path) -> None:
    page = report_page.open(report)
    link = page.locator("tr:has(a.test-link:has-text('test_total')) .views a:has-text('diff')")
    link.click()
    report_page.wait("() => document.querySelector('[data-panel=diff] table.data') !== null")
    row = page.locator("[data-panel=diff] table.data tbody tr", has_text="shop.cart:price")
    assert "row-worse" in (row.get_attribute("class") or "")
    assert row.locator("td").nth(2).inner_text() == "10" and row.locator("td").nth(3).inner_text() == "30"
    assert page.locator("[data-panel=diff] rect.node.d-worse").count() == 1
    report_page.shot("diff")
    # the flame graph of the same test, by its link
    page.goto(page.url.split("#")[0] + "#t=0&v=flame")
    report_page.wait("() => document.querySelectorAll('[data-panel=flame] svg.flame rect.fr').length > 1")
    assert page.locator("[data-tab=flame][aria-selected=true]").count() == 1
    # the leaking test: its verdict and growth charts
    page.click("a.back")
    page.click("tr:has(a.test-link:has-text('test_keeps_handlers')) .views a:has-text('leaks')")
    report_page.wait("() => document.querySelector('[data-panel=leaks] .leak') !== null")
    assert "Handler" in page.inner_text("[data-panel=leaks]")
    assert page.locator("[data-panel=leaks] svg.growth rect.grow").count() >= 3
    report_page.shot("leaks")
    # the new test with markup in its id: no baseline, shown as text
    page.click("a.back")
    page.click(f"a.test-link:has-text('{EVIL_ID[:20]}')")
    report_page.wait("() => document.querySelector('h2.test-id') !== null")
    assert page.inner_text("h2.test-id") == EVIL_ID
    page.click("[data-tab=diff]")
    assert "no baseline" in page.inner_text("[data-panel=diff]")
    assert page.evaluate("window.__pwned") is None
