"""Machine-readable results: --callflow-json, JUnit XML properties; and the
per-test call totals of -v."""

import json
import re
import xml.etree.ElementTree as ET
from typing import Dict

import pytest

from plugin_projects import Project, json_record, text


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Project:
    return Project(pytester, monkeypatch)


def _regressed_project(project: Project) -> Dict[str, int]:
    """test_total regressed (price 10 -> 30), test_other unchanged,
    test_new.py::test_fresh without baseline; returns the baseline totals."""
    project.cart_project(repeat=1)
    project.update()
    totals = {key: entry["total_calls"] for key, entry in project.baseline()["tests"].items()}
    project.shop(repeat=3)
    project.write("test_new.py", """
        from shop.cart import price


        def test_fresh():
            assert price(2) == 4
    """)
    return totals


def test_callflow_json(project: Project) -> None:
    totals = _regressed_project(project)
    path = project.root / "out" / "callflow.json"
    path.parent.mkdir()
    result = project.run("--callflow", f"--callflow-json={path}")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    doc = json.loads(path.read_text(encoding="utf-8"))

    total = json_record(doc, "test_cart.py::test_total")
    assert total["verdict"] == "regressed"
    assert total["total_calls"] == totals["test_total"] + 20
    assert isinstance(total["time"], (int, float)) and total["time"] >= 0
    price = [f for f in total["findings"]
             if f.get("kind") == "calls" and f.get("function") == "shop.cart:price"]
    assert len(price) == 1, total["findings"]
    assert (price[0]["before"], price[0]["after"], price[0]["verdict"]) == (10, 30, "regression")

    other = json_record(doc, "test_cart.py::test_other")
    assert other["verdict"] == "passed"
    assert other["total_calls"] == totals["test_other"]
    assert other["findings"] == []

    fresh = json_record(doc, "test_new.py::test_fresh")
    assert fresh["verdict"] == "new"
    assert fresh["total_calls"] >= 2


def test_junit_xml_properties(project: Project) -> None:
    totals = _regressed_project(project)
    path = project.root / "junit.xml"
    project.run("--callflow", f"--junitxml={path}")
    cases = {case.get("name"): case for case in ET.parse(str(path)).getroot().iter("testcase")}
    assert set(cases) == {"test_total", "test_other", "test_fresh"}

    def props(name: str) -> Dict[str, str]:
        return {p.get("name"): p.get("value") for p in cases[name].iter("property")}

    total = props("test_total")
    assert total["callflow_verdict"] == "regressed"
    assert total["callflow_total_calls"] == str(totals["test_total"] + 20)
    assert float(total["callflow_time"]) >= 0
    assert int(total["callflow_findings"]) >= 2  # price and the total
    other = props("test_other")
    assert other["callflow_verdict"] == "passed"
    assert other["callflow_total_calls"] == str(totals["test_other"])
    assert other["callflow_findings"] == "0"
    assert props("test_fresh")["callflow_verdict"] == "new"


def test_verbose_shows_per_test_call_totals(project: Project) -> None:
    project.cart_project()
    project.update()
    totals = {key: entry["total_calls"] for key, entry in project.baseline()["tests"].items()}
    assert totals["test_total"] not in (50, 100), "would be confused with the progress"

    def total_lines(result: pytest.RunResult, key: str) -> list:
        return [line for line in text(result).splitlines()
                if key in line and re.search(r"(?<![\d.])%d(?![\d.%%])" % totals[key], line)]

    verbose = project.run("--callflow", "-v")
    assert verbose.ret == 0
    for key in totals:
        assert total_lines(verbose, key), (key, totals[key], text(verbose))
    quiet = project.run("--callflow")
    assert total_lines(quiet, "test_total") == []
