"""python -m pytest_callflow.unittest: a plain unittest suite under the same
gate and the same baseline files as pytest --callflow."""

import sys

import pytest

from plugin_projects import Project, text


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Project:
    return Project(pytester, monkeypatch)


UNIT = """
import unittest

from shop.cart import Cart, price


class TestU(unittest.TestCase):
    def test_total(self):
        self.assertGreaterEqual(Cart(range(10)).total(), 0)

    def test_flat(self):
        self.assertEqual(price(2), 4)


if __name__ == "__main__":
    unittest.main()
"""


def _runner(project: Project, *args: str) -> pytest.RunResult:
    return project.pytester.run(sys.executable, "-m", "pytest_callflow.unittest", *args,
                                timeout=120)


def test_unittest_runner_updates_then_gates(project: Project) -> None:
    project.shop(repeat=1)
    project.write("tests/test_u.py", UNIT)

    first = _runner(project, "--callflow-update", "discover", "-s", "tests")
    assert first.ret == 0, text(first)
    tests = project.baseline("tests/test_u.py")["tests"]
    assert sorted(tests) == ["TestU::test_flat", "TestU::test_total"]
    assert tests["TestU::test_total"]["calls"]["shop.cart:price"] == 10
    assert tests["TestU::test_total"]["calls"]["test_u:TestU.test_total"] == 1
    saved = project.files(".callflow")

    same = _runner(project, "discover", "-s", "tests")
    assert same.ret == 0, text(same)
    assert project.files(".callflow") == saved

    # pytest --callflow reads the same baselines: nothing new, nothing regressed.
    with_pytest = project.run("--callflow")
    assert with_pytest.ret == 0, text(with_pytest)
    with_pytest.assert_outcomes(passed=2)
    assert "new" not in text(with_pytest).lower().split()

    project.shop(repeat=3)
    worse = _runner(project, "discover", "-s", "tests")
    assert worse.ret != 0, text(worse)
    assert "shop.cart:price" in text(worse)
    assert project.files(".callflow") == saved
