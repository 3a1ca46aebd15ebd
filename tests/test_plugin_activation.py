"""The plugin is registered, off by default (and then inert), turned on by
--callflow or the ini; its marker is registered and validated, and the
marker's max_calls budget works with and without --callflow."""

import re
import sys
from typing import List

import pytest

from plugin_projects import Project, failed_ids, failure_block, text


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Project:
    return Project(pytester, monkeypatch)


def test_entry_point_pytest11_is_named_callflow() -> None:
    from importlib import metadata

    eps = metadata.entry_points()
    group = (eps.select(group="pytest11") if hasattr(eps, "select")
             else eps.get("pytest11", []))  # type: ignore[attr-defined]
    found = {ep.name: ep.value for ep in group}
    assert found.get("callflow") == "pytest_callflow.plugin", found


def test_options_come_from_the_registered_plugin(project: Project) -> None:
    project.cart_project()
    assert project.run("--callflow").ret == 0
    # Disabled by its entry-point name, its options are gone.
    result = project.run("-p", "no:callflow", "--callflow")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--callflow" in text(result)


HOOK_CHECK = """
import sys

from shop import cart


def _hooks():
    monitoring = getattr(sys, "monitoring", None)
    tools = tuple(monitoring.get_tool(i) for i in range(6)) if monitoring else ()
    return tools, sys.getprofile(), sys.gettrace()


AT_IMPORT = _hooks()


def test_nothing_hooked():
    assert cart.Cart(range(3)).total() == 6
    assert _hooks() == AT_IMPORT
"""


def test_off_by_default_is_inert(project: Project) -> None:
    project.shop()
    project.write("test_hooks.py", HOOK_CHECK)
    result = project.run()
    result.assert_outcomes(passed=1)
    assert not (project.root / ".callflow").exists()
    # Only the header's plugin list may name us.
    mentions = [line for line in text(result).splitlines()
                if "callflow" in line.lower() and not line.startswith("plugins:")]
    assert mentions == []
    for report in result.reprec.getreports("pytest_runtest_logreport"):  # type: ignore[attr-defined]
        assert [s for s in report.sections if "callflow" in s[0].lower()] == []
        assert report.user_properties == []


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring tools are visible on 3.12+")
def test_the_inert_check_sees_tracing_when_on(project: Project) -> None:
    # Control for the test above: with --callflow the test body is traced,
    # so a monitoring tool id is taken while it runs.
    project.shop()
    project.write("test_hooks.py", HOOK_CHECK)
    project.run("--callflow").assert_outcomes(failed=1)


def test_off_by_default_no_regression_is_judged(project: Project) -> None:
    project.cart_project()
    project.update()
    project.shop(repeat=3)
    before = project.files(".callflow")
    result = project.run()
    result.assert_outcomes(passed=2)
    assert project.files(".callflow") == before
    assert "shop.cart:price" not in text(result)
    # Control: the same state with the flag fails.
    assert failed_ids(project.run("--callflow")) == {"test_cart.py::test_total"}


def test_ini_callflow_true_turns_it_on(project: Project) -> None:
    project.ini("callflow = true")
    project.cart_project()
    project.run("--callflow-update").assert_outcomes(passed=2)
    assert set(project.baseline()["tests"]) == {"test_total", "test_other"}
    project.shop(repeat=3)
    result = project.run()
    assert failed_ids(result) == {"test_cart.py::test_total"}
    assert "shop.cart:price" in failure_block(result, "test_total")


def test_marker_is_registered(project: Project) -> None:
    project.cart_project(marker="@pytest.mark.callflow(max_calls_increase=0.5)")
    project.run("--strict-markers").assert_outcomes(passed=2)
    project.run("--strict-markers", "--callflow").assert_outcomes(passed=2)


BAD_MARKERS = [
    ("max_call=3", "max_call"),
    ("max_calls_increase='a lot'", "max_calls_increase"),
    ("max_calls=['shop.db:query']", "max_calls"),
]


@pytest.mark.parametrize("flags", [[], ["--callflow"]], ids=["off", "on"])
@pytest.mark.parametrize("argument, named", BAD_MARKERS, ids=[b[1] for b in BAD_MARKERS])
def test_bad_marker_argument_is_a_collection_error(project: Project, flags: List[str],
                                                   argument: str, named: str) -> None:
    project.write("test_marked.py", f"""
        import pytest


        @pytest.mark.callflow({argument})
        def test_marked():
            pass


        def test_plain():
            pass
    """)
    result = project.run(*flags)
    out = text(result)
    assert result.ret != 0, out
    assert result.parseoutcomes().get("passed", 0) == 0, out
    assert re.search(r"\b" + re.escape(named) + r"\b", out), out
    assert "test_marked" in out


# -- the max_calls budget: the N+1 guard ---------------------------------------

DB = """
def query(key):
    return key


def load_all(keys):
    rows = []
    for key in keys:
        rows.append(query(key))
    return rows
"""

DB_TESTS = """
import pytest

from shop.db import load_all


{over}
def test_n_plus_one():
    assert len(load_all(range(5))) == 5


{within}
def test_in_budget():
    assert len(load_all(range(5))) == 5
"""


def _budget_project(project: Project, marked: bool = True) -> None:
    project.write("shop/__init__.py", "")
    project.write("shop/db.py", DB)
    project.write("test_db.py", DB_TESTS.format(
        over='@pytest.mark.callflow(max_calls={"shop.db:query": 1})' if marked else "",
        within='@pytest.mark.callflow(max_calls={"shop.db:query": 5})' if marked else ""))


def _assert_budget_failure(result: pytest.RunResult) -> None:
    assert failed_ids(result) == {"test_db.py::test_n_plus_one"}, text(result)
    result.assert_outcomes(passed=1, failed=1)
    block = failure_block(result, "test_n_plus_one")
    assert "shop.db:query" in block
    assert re.search(r"\b5\b", block), block


def test_budget_without_callflow(project: Project) -> None:
    _budget_project(project)
    _assert_budget_failure(project.run())
    assert not (project.root / ".callflow").exists()


def test_budget_with_callflow_and_no_baseline(project: Project) -> None:
    _budget_project(project)
    _assert_budget_failure(project.run("--callflow"))


def test_budget_with_a_matching_baseline(project: Project) -> None:
    # The baseline already holds the five queries: the budget still fails.
    _budget_project(project, marked=False)
    project.update()
    assert project.entry("test_n_plus_one", "test_db.py")["calls"]["shop.db:query"] == 5
    _budget_project(project, marked=True)
    _assert_budget_failure(project.run("--callflow"))
