"""Baseline files: where they go, their format (sorted, stable, review
friendly), new tests, --callflow-update's rules, unused baselines."""

import difflib
import json
import re
import subprocess
import sys
from typing import List

import pytest

from plugin_projects import PY_MINOR, Project, failed_ids, failure_block, strays, text


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Project:
    return Project(pytester, monkeypatch)


DEEP_TESTS = """
import pytest

from shop.cart import Cart


class TestDeep:
    @pytest.mark.parametrize("n", [2, 3])
    def test_sized(self, n):
        assert Cart(range(n)).total() == sum(range(n)) * 2
"""


def test_update_writes_one_sorted_file_per_module(project: Project) -> None:
    project.cart_project()
    project.write("tests/test_deep.py", DEEP_TESTS)
    project.update()
    # Nothing else is left there (atomic writes leave no temporary file).
    assert sorted(project.files(".callflow")) == [
        ".callflow/test_cart.py.json", ".callflow/tests/test_deep.py.json"]
    for module in ("test_cart.py", "tests/test_deep.py"):
        raw = project.baseline_path(module).read_text(encoding="utf-8")
        doc = json.loads(raw)
        assert raw == json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
        assert doc["schema"] == "callflow-baseline/1"
        assert doc["python"] == PY_MINOR
        assert not doc.get("times"), "times are written only with --callflow-time"
        for key, entry in doc["tests"].items():
            assert entry["total_calls"] == sum(entry["calls"].values()), key
            assert strays(entry) == [], (module, key)

    total = project.entry("test_total")
    assert total["calls"]["test_cart:test_total"] == 1
    assert total["calls"]["shop.cart:Cart.total"] == 1
    assert total["calls"]["shop.cart:price"] == 10
    assert total["edges"]["shop.cart:Cart.total"]["shop.cart:price"] == 10
    assert total["edges"]["test_cart:test_total"]["shop.cart:Cart.total"] == 1
    assert project.entry("test_other")["calls"]["shop.cart:price"] == 1
    deep = project.baseline("tests/test_deep.py")["tests"]
    assert sorted(deep) == ["TestDeep::test_sized[2]", "TestDeep::test_sized[3]"]
    assert deep["TestDeep::test_sized[2]"]["calls"]["shop.cart:price"] == 2
    assert deep["TestDeep::test_sized[3]"]["calls"]["shop.cart:price"] == 3


def test_update_without_changes_is_byte_identical(project: Project) -> None:
    project.cart_project()
    project.update()
    first = project.files(".callflow")
    project.update()
    assert project.files(".callflow") == first
    # A plain run never writes.
    project.run("--callflow").assert_outcomes(passed=2)
    assert project.files(".callflow") == first


def test_a_one_call_change_is_a_one_line_change_per_figure(project: Project) -> None:
    project.cart_project(items=10)
    project.update()
    before = project.baseline_path().read_text(encoding="utf-8").splitlines()
    project.cart_tests(items=11)  # one more call of shop.cart:price
    project.update()
    after = project.baseline_path().read_text(encoding="utf-8").splitlines()

    diff = list(difflib.unified_diff(before, after, lineterm="", n=0))
    removed = [line[1:] for line in diff if line.startswith("-") and not line.startswith("---")]
    added = [line[1:] for line in diff if line.startswith("+") and not line.startswith("+++")]
    # The figures that changed: the function's calls, the edge into it and
    # the test's total; each is one line, nothing else moved.
    assert len(removed) == len(added) == 3, "\n".join(diff)
    for old, new in zip(removed, added):
        assert re.sub(r"\d+", "N", old) == re.sub(r"\d+", "N", new), (old, new)
    assert sum('"shop.cart:price": 10' in line for line in removed) == 2
    assert sum('"shop.cart:price": 11' in line for line in added) == 2
    assert sum('"total_calls"' in line for line in added) == 1


def test_a_test_without_baseline_is_new_not_failed(project: Project) -> None:
    project.cart_project()
    result = project.run("--callflow")
    assert result.ret == 0
    result.assert_outcomes(passed=2)
    out = text(result)
    assert re.search(r"\bnew\b", out, re.IGNORECASE), out
    assert "test_total" in out and "test_other" in out
    assert not (project.root / ".callflow").exists(), "only --callflow-update writes"


def test_require_baseline_fails_new_tests(project: Project) -> None:
    project.cart_project()
    project.update("-k", "test_total")
    assert set(project.baseline()["tests"]) == {"test_total"}
    result = project.run("--callflow", "--callflow-require-baseline")
    assert failed_ids(result) == {"test_cart.py::test_other"}
    assert "baseline" in failure_block(result, "test_other").lower()


MORE_TESTS = """
import pytest

from shop.cart import Cart


{mark_a}
def test_more_a():
    assert Cart(range(4)).total() > 0


{mark_b}
def test_more_b():
    assert Cart(range(5)).total() > 0
"""


def _more(project: Project, mark_a: str = "", mark_b: str = "") -> None:
    project.write("test_more.py", MORE_TESTS.format(mark_a=mark_a, mark_b=mark_b))


def _two_modules(project: Project) -> None:
    project.ini("markers =\n    fast: quick ones")
    project.cart_project()
    _more(project)
    project.update()


def test_update_under_k_keeps_deselected_entries(project: Project) -> None:
    _two_modules(project)
    more = project.baseline_path("test_more.py").read_bytes()
    project.shop(repeat=3)  # every Cart test changes
    project.update("-k", "test_total")
    assert project.entry("test_total")["calls"]["shop.cart:price"] == 30
    assert project.entry("test_other")["calls"]["shop.cart:price"] == 1
    assert project.baseline_path("test_more.py").read_bytes() == more


def test_update_under_m_keeps_deselected_entries(project: Project) -> None:
    _two_modules(project)
    _more(project, mark_a="@pytest.mark.fast")
    project.shop(repeat=3)
    project.update("-m", "not fast")
    more = project.baseline("test_more.py")["tests"]
    assert more["test_more_a"]["calls"]["shop.cart:price"] == 4
    assert more["test_more_b"]["calls"]["shop.cart:price"] == 15


def test_update_keeps_entries_of_skipped_tests(project: Project) -> None:
    _two_modules(project)
    _more(project, mark_b='@pytest.mark.skip(reason="not today")')
    project.shop(repeat=3)
    project.update()
    more = project.baseline("test_more.py")["tests"]
    assert more["test_more_a"]["calls"]["shop.cart:price"] == 12
    assert more["test_more_b"]["calls"]["shop.cart:price"] == 5


def test_update_with_a_path_leaves_other_modules_alone(project: Project) -> None:
    _two_modules(project)
    more = project.baseline_path("test_more.py").read_bytes()
    project.shop(repeat=3)
    project.update("test_cart.py")
    assert project.entry("test_total")["calls"]["shop.cart:price"] == 30
    assert project.baseline_path("test_more.py").read_bytes() == more


def test_update_removes_entries_of_deleted_tests(project: Project) -> None:
    _two_modules(project)
    project.write("test_cart.py", """
        from shop import cart


        def test_total():
            assert cart.Cart(range(10)).total() == 90
    """)
    project.update()
    assert set(project.baseline()["tests"]) == {"test_total"}
    assert set(project.baseline("test_more.py")["tests"]) == {"test_more_a", "test_more_b"}


def test_update_removes_the_file_of_a_deleted_module(project: Project) -> None:
    _two_modules(project)
    (project.root / "test_more.py").unlink()
    project.update()
    assert sorted(project.files(".callflow")) == [".callflow/test_cart.py.json"]


def test_a_failing_test_keeps_its_old_baseline(project: Project) -> None:
    project.cart_project()
    project.write("test_bad.py", """
        from shop import cart


        def test_bad():
            cart.Cart(range(4)).total()
            assert cart.REPEAT == 1
    """)
    project.update()
    old = project.baseline_path("test_bad.py").read_bytes()
    project.shop(repeat=3)
    project.write("test_bad.py", """
        from shop import cart


        def test_bad():
            cart.Cart(range(4)).total()
            assert cart.REPEAT == 1


        def test_new_and_failing():
            cart.Cart(range(4)).total()
            assert False
    """)
    result = project.run("--callflow", "--callflow-update")
    assert failed_ids(result) == {"test_bad.py::test_bad", "test_bad.py::test_new_and_failing"}
    assert project.entry("test_total")["calls"]["shop.cart:price"] == 30
    assert project.baseline_path("test_bad.py").read_bytes() == old


# -- unused baselines -------------------------------------------------------


def test_baseline_of_a_deleted_test_is_reported_unused(project: Project) -> None:
    project.cart_project()
    project.update()
    before = project.files(".callflow")
    project.write("test_cart.py", """
        from shop import cart


        def test_total():
            assert cart.Cart(range(10)).total() == 90
    """)
    result = project.run("--callflow")
    assert result.ret == 0
    out = text(result)
    at = out.lower().find("unused")
    assert at >= 0, out
    assert "test_other" in out[at:], out
    assert project.files(".callflow") == before, "reporting never writes"


SKIPPED_MODULE = """
import pytest

pytest.importorskip("no_such_module_for_callflow")
"""


@pytest.mark.parametrize("how", ["-k", "-m", "skip", "module-skip", "path"])
def test_no_false_unused_alarm(project: Project, how: str) -> None:
    _two_modules(project)
    args: List[str] = ["--callflow"]
    if how == "-k":
        args += ["-k", "not test_more_b"]
    elif how == "-m":
        _more(project, mark_b="@pytest.mark.fast")
        args += ["-m", "not fast"]
    elif how == "skip":
        _more(project, mark_b='@pytest.mark.skip(reason="not today")')
    elif how == "module-skip":
        project.write("test_more.py", SKIPPED_MODULE + MORE_TESTS.format(mark_a="", mark_b=""))
    else:
        args += ["test_cart.py"]
    # Control: a test really deleted from a module that was collected.
    project.write("test_cart.py", """
        from shop import cart


        def test_total():
            assert cart.Cart(range(10)).total() == 90
    """)
    result = project.run(*args)
    assert result.ret == 0, text(result)
    out = text(result)
    at = out.lower().find("unused")
    assert at >= 0 and "test_other" in out[at:], out
    assert "test_more_b" not in out, out


def test_concurrent_updates_leave_whole_files(project: Project) -> None:
    project.cart_project()
    project.write("tests/test_deep.py", DEEP_TESTS)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "--callflow", "--callflow-update"]
    runs = [project.pytester.popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
            for _ in range(2)]
    outputs = [run.communicate(timeout=120)[0].decode() for run in runs]
    for run, output in zip(runs, outputs):
        assert run.returncode == 0, output
    assert sorted(project.files(".callflow")) == [
        ".callflow/test_cart.py.json", ".callflow/tests/test_deep.py.json"]
    assert project.entry("test_total")["calls"]["shop.cart:price"] == 10
    assert len(project.baseline("tests/test_deep.py")["tests"]) == 2
