"""pytest -n 2 --callflow: same verdicts and byte-identical baseline files as
a run without xdist; no false "unused" alarms from workers that saw only
part of the suite."""

import importlib.util
import json

import pytest

from plugin_projects import Project, json_record, outcomes_by_id, text

pytestmark = pytest.mark.skipif(importlib.util.find_spec("xdist") is None,
                                reason="pytest-xdist is not installed (see tests/requirements.txt)")


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Project:
    return Project(pytester, monkeypatch)


MORE = """
import unittest

import pytest

from shop.cart import Cart, price


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_param(n):
    assert Cart(range(n)).total() >= 0


class TestPlain:
    def test_method(self):
        assert Cart(range(4)).total() >= 0

    def test_flat(self):
        assert price(3) == 6


class TestUnit(unittest.TestCase):
    def test_case(self):
        self.assertGreaterEqual(Cart(range(5)).total(), 0)
{extra}
"""

GONE = """
def test_gone():
    assert price(4) == 8
"""

FRESH = """
def test_fresh():
    assert Cart(range(2)).total() >= 0
"""


def test_xdist_gives_the_same_baselines_and_verdicts(project: Project) -> None:
    project.cart_project(repeat=1)
    project.write("tests/test_more.py", MORE.format(extra=GONE))
    project.update()
    serial = project.files(".callflow")
    assert sorted(serial) == [".callflow/test_cart.py.json", ".callflow/tests/test_more.py.json"]
    for name in serial:
        (project.root / name).unlink()

    parallel = project.run_subprocess("-n", "2", "--callflow", "--callflow-update")
    assert parallel.ret == 0, text(parallel)
    assert project.files(".callflow") == serial, "xdist must write the same bytes"

    # Nothing changed: everything passes, nothing is new or unused.
    same = project.run_subprocess("-n", "2", "--callflow", "-rA")
    assert same.ret == 0, text(same)
    assert set(outcomes_by_id(same).values()) == {"passed"}
    assert len(outcomes_by_id(same)) == 10
    out = text(same).lower()
    assert "unused" not in out, out
    assert not [line for line in out.splitlines() if "new" in line.split()]

    # Regressions, one test gone, one new: same verdicts either way.
    project.shop(repeat=3)
    project.write("tests/test_more.py", MORE.format(extra=FRESH))
    one = project.run("--callflow", "-rA", f"--callflow-json={project.root / 'one.json'}")
    two = project.run_subprocess("-n", "2", "--callflow", "-rA",
                                 f"--callflow-json={project.root / 'two.json'}")
    outcomes = outcomes_by_id(one)
    assert outcomes == outcomes_by_id(two)
    assert sorted(n for n, o in outcomes.items() if o == "passed") == [
        "test_cart.py::test_other", "tests/test_more.py::TestPlain::test_flat",
        "tests/test_more.py::test_fresh"]
    docs = [json.loads((project.root / f"{n}.json").read_text()) for n in ("one", "two")]
    for nodeid in outcomes:
        verdicts = [json_record(doc, nodeid)["verdict"] for doc in docs]
        assert verdicts[0] == verdicts[1], (nodeid, verdicts)
        findings = [json_record(doc, nodeid)["findings"] for doc in docs]
        assert findings[0] == findings[1], nodeid
    assert json_record(docs[1], "tests/test_more.py::test_fresh")["verdict"] == "new"
    for result in (one, two):
        out = text(result)
        at = out.lower().find("unused")
        assert at >= 0 and "test_gone" in out[at:], out
