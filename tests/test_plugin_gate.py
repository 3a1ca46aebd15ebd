"""The gate: call regressions with before -> after and the caller chain,
tolerances from ini/option/marker, improvements, strict edges, the time
gate, a test's own failure kept, other Python versions."""

import json
import re
import sys
from typing import List

import pytest

from plugin_projects import (ARROW, PY_MINOR, Project, failed_ids, failure_block, json_record,
                             text)


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Project:
    return Project(pytester, monkeypatch)


def _percent(value: int) -> str:
    return r"\+" + str(value) + r"(?:\.0+)?\s*%"


def test_a_function_called_more_fails_with_before_after_and_chain(project: Project) -> None:
    project.cart_project(repeat=1)
    project.update()
    project.shop(repeat=3)
    result = project.run("--callflow")
    assert failed_ids(result) == {"test_cart.py::test_total"}
    result.assert_outcomes(passed=1, failed=1)
    block = failure_block(result, "test_total")
    assert re.search(r"shop\.cart:price\b.*\b10" + ARROW + r"30\b.*" + _percent(200), block), block
    chain = (r"test_cart:test_total" + ARROW + r"shop\.cart:Cart\.total" + ARROW
             + r"shop\.cart:price\b")
    assert re.search(chain, block), block
    # The summary lists the regression too.
    rest = text(result).replace(block, "")
    assert "regress" in rest.lower() and "test_total" in rest, rest


TOLERANCES = [
    # ini line, options, marker, fails
    ("", [], "", True),
    ("callflow_max_calls_increase = 0.2", [], "", False),
    ("", ["--callflow-max-calls-increase=0.2"], "", False),
    ("", [], "@pytest.mark.callflow(max_calls_increase=0.2)", False),
    ("", ["--callflow-max-calls-increase=0.05"], "", True),
    ("callflow_max_calls_increase = 0.2", ["--callflow-max-calls-increase=0.05"], "", True),
]


@pytest.mark.parametrize("ini, options, marker, fails", TOLERANCES,
                         ids=["exact", "ini", "option", "marker", "option-below", "option-over-ini"])
def test_tolerance(project: Project, ini: str, options: List[str], marker: str,
                   fails: bool) -> None:
    if ini:
        project.ini(ini)
    project.cart_project(items=10, marker=marker)
    project.update()
    project.cart_tests(items=11, marker=marker)  # shop.cart:price 10 -> 11: +10%
    result = project.run("--callflow", *options)
    if fails:
        assert failed_ids(result) == {"test_cart.py::test_total"}
        block = failure_block(result, "test_total")
        assert re.search(r"shop\.cart:price\b.*\b10" + ARROW + r"11\b.*" + _percent(10), block), block
    else:
        assert result.ret == 0, text(result)
        result.assert_outcomes(passed=2)


def test_improvements_are_reported_with_a_hint_to_update(project: Project) -> None:
    project.cart_project(repeat=3)
    project.update()
    project.shop(repeat=1)  # shop.cart:price 30 -> 10
    result = project.run("--callflow")
    assert result.ret == 0
    result.assert_outcomes(passed=2)
    out = text(result)
    at = out.lower().find("improv")
    assert at >= 0, out
    assert "test_total" in out[at:], out
    assert "--callflow-update" in out[at:], out
    assert "test_other" not in out


ROUTE = """
VIA = "{via}"


def price(item):
    return item


def first():
    if VIA == "first":
        price(1)


def second():
    if VIA == "second":
        price(1)


def checkout():
    first()
    second()
"""

ROUTE_TEST = """
import pytest

from shop.route import checkout


{marker}
def test_route():
    checkout()
"""


def _route(project: Project, via: str, marker: str = "") -> None:
    project.write("shop/__init__.py", "")
    project.write("shop/route.py", ROUTE.format(via=via))
    project.write("test_route.py", ROUTE_TEST.format(marker=marker))


STRICT = [
    ("", [], ""),
    ("callflow_strict = true", [], ""),
    ("", ["--callflow-strict"], ""),
    ("", [], "@pytest.mark.callflow(strict=True)"),
]


@pytest.mark.parametrize("ini, options, marker", STRICT, ids=["lenient", "ini", "option", "marker"])
def test_a_new_call_path_fails_only_when_strict(project: Project, ini: str, options: List[str],
                                                marker: str) -> None:
    if ini:
        project.ini(ini)
    _route(project, "first", marker)
    project.update()
    # Same calls per function, but price is now called from second().
    _route(project, "second", marker)
    report = project.root / "result.json"
    result = project.run("--callflow", f"--callflow-json={report}", *options)
    strict = bool(ini or options or marker)
    if strict:
        assert failed_ids(result) == {"test_route.py::test_route"}
        block = failure_block(result, "test_route")
        assert "shop.route:second" in block and "shop.route:price" in block, block
    else:
        assert result.ret == 0, text(result)
    # Reported either way.
    findings = json_record(json.loads(report.read_text()), "test_route.py::test_route")["findings"]
    new_edges = [f for f in findings if f.get("kind") == "new_edge"]
    assert [(f.get("function"), f.get("callee")) for f in new_edges] == [
        ("shop.route:second", "shop.route:price")], findings
    gone = [f for f in findings if f.get("kind") == "gone_edge"]
    assert [(f.get("function"), f.get("callee")) for f in gone] == [
        ("shop.route:first", "shop.route:price")], findings
    assert not [f for f in findings if f.get("kind") in ("calls", "total_calls")], findings


SLOW = """
import time

DELAY = {delay}


def work():
    time.sleep(DELAY)
"""


def test_time_is_gated_only_with_callflow_time(project: Project) -> None:
    project.write("shop/__init__.py", "")
    project.write("shop/slow.py", SLOW.format(delay=0.004))
    project.write("test_slow.py", """
        from shop.slow import work


        def test_slow():
            work()
    """)
    timing = ["--callflow-time", "--callflow-time-repeats=3"]
    project.update(*timing)
    doc = project.baseline("test_slow.py")
    assert doc["times"]["test_slow"]["shop.slow:work"] > 0
    saved = project.files(".callflow")

    # 20x slower: far beyond threshold and floor, whatever the machine does.
    project.write("shop/slow.py", SLOW.format(delay=0.08))
    plain = project.run("--callflow")
    assert plain.ret == 0, text(plain)
    assert "shop.slow:work" not in text(plain)
    # A normal update keeps the recorded times as they are.
    project.update()
    assert project.files(".callflow") == saved

    timed = project.run("--callflow", *timing)
    assert failed_ids(timed) == {"test_slow.py::test_slow"}
    block = failure_block(timed, "test_slow")
    assert "shop.slow:work" in block and "time" in block.lower(), block


def test_a_test_that_raises_keeps_its_own_failure(project: Project) -> None:
    project.shop(repeat=1)
    project.write("test_cart.py", """
        from shop import cart


        def test_total():
            cart.Cart(range(10)).total()
            if cart.REPEAT > 1:
                raise ValueError("boom 42")
    """)
    project.update()
    project.shop(repeat=3)
    result = project.run("--callflow")
    assert failed_ids(result) == {"test_cart.py::test_total"}
    block = failure_block(result, "test_total")
    assert "ValueError: boom 42" in block, block
    assert re.search(r"shop\.cart:price\b.*\b10" + ARROW + r"30\b", block), block
    (report,) = [r for r in result.reprec.getreports("pytest_runtest_logreport")  # type: ignore[attr-defined]
                 if r.when == "call"]
    assert "boom 42" in str(report.longrepr)
    assert "ValueError" in report.longreprtext


def test_another_python_minor_makes_count_findings_warnings(project: Project) -> None:
    other = "3.{}".format(sys.version_info[1] - 1)
    project.cart_project(repeat=1)
    project.update()
    path = project.baseline_path()
    raw = path.read_text(encoding="utf-8")
    assert f'"python": "{PY_MINOR}"' in raw
    path.write_text(raw.replace(f'"python": "{PY_MINOR}"', f'"python": "{other}"'),
                    encoding="utf-8")
    project.shop(repeat=3)
    report = project.root / "result.json"
    result = project.run("--callflow", f"--callflow-json={report}")
    out = text(result)
    assert result.ret == 0, out
    result.assert_outcomes(passed=2)
    assert re.search(r"shop\.cart:price\b.*\b10" + ARROW + r"30\b", out), out
    assert "warn" in out.lower()
    record = json_record(json.loads(report.read_text()), "test_cart.py::test_total")
    assert record["verdict"] == "warning"
    assert {f["verdict"] for f in record["findings"] if f["kind"] == "calls"} == {"warning"}
    # The note names the baseline's Python, in the test's own section too.
    assert any(other in note for note in record["notes"]), record
    (call,) = [r for r in result.reprec.getreports("pytest_runtest_logreport")  # type: ignore[attr-defined]
               if r.when == "call" and r.nodeid.endswith("test_total")]
    assert any(other in content for _, content in call.sections), call.sections
