"""Smoke tests of the pytest plugin, its baseline store, gate and unittest
runner, written with the plugin (the full suite is tests/test_plugin_*.py).

Each sample project uses module names of its own (``smoke_<test>``):
libcallflow names a function once per process, so two in-process runs
must not share module names."""

import json
import os
import re
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict

import pytest

from pytest_callflow import _native, baseline, gate, trace_scope
from pytest_callflow.graph import CallGraph

INI = """[pytest]
pythonpath = .
filterwarnings = ignore:Module already imported:pytest.PytestAssertRewriteWarning
"""

LIB = """
REPEAT = {repeat}


def price(item):
    return item * 2


def total(items):
    return sum(price(i) for i in items for _ in range(REPEAT))
"""

TESTS = """
from {pkg} import lib


def test_total():
    assert lib.total(range(10)) >= 0


def test_one():
    assert lib.price(1) == 2
"""


def _write(root: Path, relpath: str, text: str) -> None:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


class Sample:
    """A project with a package ``smoke_<name>`` and ``test_smoke_<name>.py``."""

    def __init__(self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                 name: str) -> None:
        monkeypatch.setattr(sys, "dont_write_bytecode", True)
        self.pytester = pytester
        self.root = pytester.path
        self.pkg = f"smoke_{name}"
        self.module = f"test_smoke_{name}.py"
        _write(self.root, "pytest.ini", INI)
        _write(self.root, f"{self.pkg}/__init__.py", "")
        self.lib(1)
        _write(self.root, self.module, TESTS.format(pkg=self.pkg))

    def lib(self, repeat: int) -> None:
        _write(self.root, f"{self.pkg}/lib.py", LIB.format(repeat=repeat))

    def run(self, *args: str) -> pytest.RunResult:
        return self.pytester.runpytest("-p", "no:cacheprovider", *args)

    @property
    def baseline_path(self) -> Path:
        return self.root / ".callflow" / (self.module + ".json")

    def entries(self) -> Dict[str, Any]:
        return json.loads(self.baseline_path.read_text(encoding="utf-8"))["tests"]


def _out(result: pytest.RunResult) -> str:
    return "\n".join(result.outlines + result.errlines)


def test_update_writes_a_sorted_file_of_the_project_calls_only(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    sample = Sample(pytester, monkeypatch, "write")
    sample.run("--callflow-update").assert_outcomes(passed=2)
    raw = sample.baseline_path.read_text(encoding="utf-8")
    doc = json.loads(raw)
    assert raw == json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    assert doc["schema"] == "callflow-baseline/1"
    assert doc["python"] == "{}.{}".format(*sys.version_info[:2])
    total = doc["tests"]["test_total"]
    assert total["calls"]["smoke_write.lib:price"] == 10
    assert total["edges"]["test_smoke_write:test_total"] == {"smoke_write.lib:total": 1}
    # Nothing of pytest, pluggy or the runner around the test.
    assert not [n for n in total["calls"] if n.startswith(("_pytest", "pluggy", "pytest"))]
    assert total["total_calls"] == sum(total["calls"].values())
    # A second update changes nothing, not even the file's time stamp.
    before = sample.baseline_path.stat().st_mtime_ns
    result = sample.run("--callflow-update")
    assert "nothing to write" in _out(result)
    assert sample.baseline_path.stat().st_mtime_ns == before


def test_a_rise_in_calls_fails_with_the_finding_and_caller_chain(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    sample = Sample(pytester, monkeypatch, "rise")
    sample.run("--callflow-update").assert_outcomes(passed=2)
    sample.lib(3)
    result = sample.run("--callflow")
    result.assert_outcomes(passed=1, failed=1)
    out = _out(result)
    assert "smoke_rise.lib:price calls 10 \N{RIGHTWARDS ARROW} 30 (+200%)" in out
    assert re.search(r"via test_smoke_rise:test_total \S smoke_rise\.lib:total \S "
                     r"smoke_rise\.lib:total\.<locals>\.<genexpr> \S smoke_rise\.lib:price", out)
    # Off, the same project passes and nothing is written.
    before = sample.baseline_path.read_bytes()
    sample.run().assert_outcomes(passed=2)
    # Updating records the new counts; then the gate passes again.
    sample.run("--callflow-update").assert_outcomes(passed=2)
    assert sample.entries()["test_total"]["calls"]["smoke_rise.lib:price"] == 30
    assert sample.baseline_path.read_bytes() != before
    sample.run("--callflow").assert_outcomes(passed=2)


def test_budget_marker_works_without_the_flag(pytester: pytest.Pytester,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    sample = Sample(pytester, monkeypatch, "budget")
    _write(sample.root, "test_smoke_budget_marked.py", """
        import pytest
        from smoke_budget import lib


        @pytest.mark.callflow(max_calls={"smoke_budget.lib:price": 3})
        def test_over():
            lib.total(range(5))


        @pytest.mark.callflow(max_calls={lib.price: 5})
        def test_within():
            lib.total(range(5))
    """)
    result = sample.run("test_smoke_budget_marked.py")
    result.assert_outcomes(passed=1, failed=1)
    assert "smoke_budget.lib:price calls 5 > max_calls budget 3" in _out(result)
    assert not (sample.root / ".callflow").exists()


def test_unused_entries_are_reported_but_not_under_k(pytester: pytest.Pytester,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    sample = Sample(pytester, monkeypatch, "unused")
    sample.run("--callflow-update").assert_outcomes(passed=2)
    saved = sample.baseline_path.read_bytes()
    result = sample.run("--callflow-update", "-k", "test_one")
    assert "unused baselines" not in _out(result)
    assert sample.baseline_path.read_bytes() == saved
    _write(sample.root, sample.module, TESTS.format(pkg=sample.pkg).replace("def test_one",
                                                                             "def _not_a_test"))
    result = sample.run("--callflow")
    assert re.search(r"test_smoke_unused\.py\.json: test_one", _out(result))
    sample.run("--callflow-update")
    assert sorted(sample.entries()) == ["test_total"]


def test_a_corrupt_baseline_fails_its_tests_and_is_left_alone(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    sample = Sample(pytester, monkeypatch, "corrupt")
    sample.run("--callflow-update").assert_outcomes(passed=2)
    raw = sample.baseline_path.read_text(encoding="utf-8")
    sample.baseline_path.write_text(raw[: len(raw) // 2], encoding="utf-8")
    damaged = sample.baseline_path.read_bytes()
    result = sample.run("--callflow", "--callflow-update")
    result.assert_outcomes(failed=2)
    assert re.search(r"\.callflow/test_smoke_corrupt\.py\.json:\d+:\d+: malformed JSON",
                     _out(result))
    assert sample.baseline_path.read_bytes() == damaged


def test_json_result_and_junit_properties(pytester: pytest.Pytester,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    sample = Sample(pytester, monkeypatch, "json")
    sample.run("--callflow-update")
    sample.run("--callflow", "--callflow-json=out/result.json", "--junitxml=out/junit.xml")
    doc = json.loads((sample.root / "out/result.json").read_text(encoding="utf-8"))
    test = doc["tests"]["test_smoke_json.py::test_total"]
    assert test["verdict"] == "passed" and test["total_calls"] == 13
    xml = (sample.root / "out/junit.xml").read_text(encoding="utf-8")
    assert '<property name="callflow_verdict" value="passed" />' in xml
    assert '<property name="callflow_total_calls" value="13" />' in xml


def test_xdist_writes_the_same_bytes(pytester: pytest.Pytester,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("xdist")
    sample = Sample(pytester, monkeypatch, "xdist")
    for n in range(3):
        _write(sample.root, f"test_smoke_xdist_{n}.py", TESTS.format(pkg=sample.pkg))
    plain = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--callflow-update")
    assert plain.ret == 0
    files = {p: p.read_bytes() for p in (sample.root / ".callflow").iterdir()}
    for path in files:
        path.unlink()
    spread = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--callflow-update",
                                           "-n", "2")
    assert spread.ret == 0
    assert {p: p.read_bytes() for p in (sample.root / ".callflow").iterdir()} == files


def test_unittest_runner_shares_the_baselines(pytester: pytest.Pytester,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    sample = Sample(pytester, monkeypatch, "unit")
    _write(sample.root, "tests/test_smoke_unit_case.py", """
        import unittest
        from smoke_unit import lib


        class TestCase(unittest.TestCase):
            def test_total(self):
                self.assertGreaterEqual(lib.total(range(4)), 0)
    """)
    runner = [sys.executable, "-m", "pytest_callflow.unittest"]
    first = pytester.run(*runner, "--callflow-update", "discover", "-s", "tests")
    assert first.ret == 0, _out(first)
    path = sample.root / ".callflow/tests/test_smoke_unit_case.py.json"
    entry = json.loads(path.read_text(encoding="utf-8"))["tests"]["TestCase::test_total"]
    assert entry["calls"]["smoke_unit.lib:price"] == 4
    sample.run("--callflow", "tests").assert_outcomes(passed=1)
    sample.lib(2)
    worse = pytester.run(*runner, "discover", "-s", "tests")
    assert worse.ret != 0
    assert "smoke_unit.lib:price calls 4 \N{RIGHTWARDS ARROW} 8" in _out(worse)


# -- units ------------------------------------------------------------------


def _runner_frame(work: Any) -> Any:
    return work()


def test_marker_arguments_are_checked() -> None:
    assert gate.check_marker((), {"max_calls_increase": 1, "strict": True}, "t") == {
        "max_calls_increase": 1.0, "strict": True}
    for kwargs, named in [({"max_call": 1}, "max_call"), ({"strict": 1}, "strict"),
                          ({"ignore": "a:b"}, "ignore"), ({"max_calls": {"a:b": -1}}, "max_calls"),
                          ({"max_calls_increase": -0.5}, "max_calls_increase")]:
        with pytest.raises(gate.MarkerError, match=rf"test_x.*{named}"):
            gate.check_marker((), kwargs, "test_x")
    merged = gate.marker_overrides([((), {"max_calls": {"a:f": 1}, "ignore": ["x:"]}),
                                    ((), {"max_calls": {"a:f": 5, "a:g": 2}, "ignore": ["y:"],
                                          "strict": True})], "t")
    assert merged == {"max_calls": {"a:f": 1, "a:g": 2}, "ignore": ["x:", "y:"], "strict": True}


def test_findings_read_as_before_and_after() -> None:
    f = {"kind": "calls", "verdict": "regression", "function": "shop.cart:price",
         "callee": None, "before": 10.0, "after": 30.0}
    assert gate.describe(f) == "shop.cart:price calls 10 \N{RIGHTWARDS ARROW} 30 (+200%)"
    assert gate.describe(dict(f, kind="budget", before=1.0, after=5.0)) == \
        "shop.cart:price calls 5 > max_calls budget 1"
    assert "1.00 ms" in gate.describe(dict(f, kind="time", before=0.001, after=0.003))


def test_baseline_parse_errors_name_the_place(tmp_path: Path) -> None:
    good = {"python": "3.12", "schema": "callflow-baseline/1",
            "tests": {"t": {"calls": {"m:f": 2}, "edges": {}, "total_calls": 2}}}
    path = tmp_path / "x.json"
    path.write_text(json.dumps(good), encoding="utf-8")
    loaded = baseline.read(str(path))
    assert loaded is not None and loaded.tests["t"]["calls"] == {"m:f": 2}
    bad = dict(good, tests={"t": {"calls": {"m:f": 2}, "edges": {}, "total_calls": 3}})
    with pytest.raises(baseline.BaselineError, match=r'tests\["t"\]\["total_calls"\]'):
        baseline.parse(json.dumps(bad), "x.json")
    with pytest.raises(baseline.BaselineError, match=r"newer pytest-callflow"):
        baseline.parse(json.dumps(dict(good, schema="callflow-baseline/2")), "x.json")
    with pytest.raises(baseline.BaselineError, match=r"x\.json:1:\d+: malformed JSON"):
        baseline.parse("{", "x.json")
    # An entry turns into a graph the rule engine reads.
    graph = baseline.entry_to_graph(good["tests"]["t"], None, python="3.12", scope="project",
                                    source="x.json:t")
    assert CallGraph(graph).calls("m:f") == 2
    assert _native.compare(graph, graph) == []


def test_commit_writes_nothing_when_one_file_cannot_be_written(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file\n", encoding="utf-8")
    good = str(tmp_path / "a-ok" / "a.json")  # sorted first: written before the failure
    bad = str(tmp_path / "blocker" / "b.json")
    with pytest.raises(OSError, match="blocker"):
        baseline.commit({good: "{}\n", bad: "{}\n"}, [])
    left = [os.path.join(top, f) for top, _dirs, files in os.walk(tmp_path) for f in files]
    assert left == [str(tmp_path / "blocker")]
