"""The comparison page in Chromium: summary cards, both graphs side by
side coloured by the diff, both flame graphs, the detailed table and its
filters."""

from pathlib import Path
from typing import Any

import pytest

from pytest_callflow import CallGraph, trace_scope
from pytest_callflow.html import export_comparison_html


def price(item: int) -> int:
    return item * 2


def discount(total: int) -> int:
    return total - 1


def checkout(repeat: int, new: bool) -> int:
    t = sum(price(i) for i in range(10) for _ in range(repeat))
    return discount(t) if new else t


def traced(repeat: int, new: bool) -> CallGraph:
    with trace_scope(scope=[__name__]) as graph:
        checkout(repeat, new)
    return graph


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cmp") / "cmp.html"
    return Path(export_comparison_html(traced(1, False), traced(3, True), path,
                                       label1="main", label2="<b>branch</b>"))


def test_split_screen_coloured_by_the_diff(report_page: Any, report: Path) -> None:
    page = report_page.open(report)
    assert page.inner_text("#title") == "Call graph comparison: main vs <b>branch</b>"
    cards = page.inner_text(".cards")
    assert "REGRESSIONS" in cards.upper() and "NEW" in cards.upper()
    before, after = page.locator(".pane[data-side=before]"), page.locator(".pane[data-side=after]")
    assert before.locator("svg.cg rect.node").count() == 3  # checkout, genexpr, price
    assert after.locator("svg.cg rect.node").count() == 4   # and discount
    assert "<b>branch</b>" in after.locator(".pane-title").inner_text()
    # price: 10 -> 30 calls, red on both sides; discount is new
    after.locator("input.search").fill("price")
    report_page.wait("() => document.querySelectorAll('.pane[data-side=after] rect.node.hit').length === 1")
    assert "d-worse" in (after.locator("rect.node.hit").get_attribute("class") or "")
    after.locator("input.search").fill("discount")
    report_page.wait("() => document.querySelectorAll('.pane[data-side=after] rect.node.hit.d-added').length === 1")
    after.locator("rect.node.hit").hover()
    assert "new" in page.inner_text("#tooltip")
    report_page.shot("graphs")
    page.click("[data-tab=flames]")
    assert page.locator(".pane svg.flame").count() == 2
    report_page.wait("() => document.querySelectorAll('.pane svg.flame rect.fr').length > 4")


def test_the_table_filters_by_change(report_page: Any, report: Path) -> None:
    page = report_page.open(report)
    rows = page.locator("table.data tbody tr")
    assert rows.count() >= 4
    page.select_option("select[aria-label='show changes']", "worse")
    report_page.wait("() => [...document.querySelectorAll('table.data tbody tr')]"
                     ".every(r => r.classList.contains('row-worse'))")
    names = [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())]
    assert f"{__name__}:price" in names
    page.select_option("select[aria-label='show changes']", "added")
    report_page.wait("() => document.querySelectorAll('table.data tbody tr').length === 1")
    assert rows.first.locator("td").first.inner_text() == f"{__name__}:discount"
    # a findings list names the regression
    assert "price" in page.inner_text("ul.findings")
