"""What is traced: parametrized tests, test classes, unittest.TestCase,
async tests (pytest-asyncio, anyio), the phases, the scope; and the
``callflow`` fixture."""

import importlib.util
import re
from typing import List

import pytest

from plugin_projects import ARROW, Project, failed_ids, failure_block, strays, text


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Project:
    return Project(pytester, monkeypatch)


KINDS = """
import unittest

import pytest

from shop.cart import Cart


@pytest.mark.parametrize("n", [2, 3])
def test_param(n):
    assert Cart(range(n)).total() >= 0


class TestPlain:
    def test_method(self):
        assert Cart(range(4)).total() >= 0


class TestUnit(unittest.TestCase):
    def test_case(self):
        self.assertGreaterEqual(Cart(range(5)).total(), 0)
"""


def test_parametrized_class_and_unittest_tests_are_traced_and_gated(project: Project) -> None:
    project.shop(repeat=1)
    project.write("test_kinds.py", KINDS)
    project.update()
    tests = project.baseline("test_kinds.py")["tests"]
    assert sorted(tests) == ["TestPlain::test_method", "TestUnit::test_case",
                             "test_param[2]", "test_param[3]"]
    expected = {
        "test_param[2]": ("test_kinds:test_param", 2),
        "test_param[3]": ("test_kinds:test_param", 3),
        "TestPlain::test_method": ("test_kinds:TestPlain.test_method", 4),
        "TestUnit::test_case": ("test_kinds:TestUnit.test_case", 5),
    }
    for key, (function, prices) in expected.items():
        calls = tests[key]["calls"]
        assert calls.get(function) == 1, (key, calls)
        assert calls.get("shop.cart:price") == prices, (key, calls)
        assert strays(tests[key]) == [], (key, calls)

    project.shop(repeat=2)
    result = project.run("--callflow")
    assert failed_ids(result) == {
        "test_kinds.py::test_param[2]", "test_kinds.py::test_param[3]",
        "test_kinds.py::TestPlain::test_method", "test_kinds.py::TestUnit::test_case"}
    assert "shop.cart:price" in failure_block(result, "TestUnit.test_case")


AIO = """
import asyncio

from shop.cart import price

ROUNDS = {rounds}


async def fetch(n):
    total = 0
    for i in range(n):
        await asyncio.sleep(0)
        for _ in range(ROUNDS):
            total += price(i)
    return total
"""

ASYNC_TESTS = {
    "asyncio": """
        import pytest

        from shop import aio


        @pytest.mark.asyncio
        async def test_fetch():
            assert await aio.fetch(3) == 6 * aio.ROUNDS
    """,
    "anyio": """
        import pytest

        from shop import aio


        @pytest.fixture
        def anyio_backend():
            return "asyncio"


        @pytest.mark.anyio
        async def test_fetch():
            assert await aio.fetch(3) == 6 * aio.ROUNDS
    """,
}

ASYNC_PLUGINS = {"asyncio": ("pytest_asyncio", "pytest-asyncio"), "anyio": ("anyio", "anyio")}


@pytest.mark.parametrize("runner", sorted(ASYNC_TESTS))
def test_async_tests_are_traced_and_gated(project: Project, runner: str) -> None:
    module, dist = ASYNC_PLUGINS[runner]
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{dist} is not installed (see tests/requirements.txt)")
    project.shop()
    project.write("shop/aio.py", AIO.format(rounds=1))
    project.write("test_async.py", ASYNC_TESTS[runner])
    project.update()
    calls = project.entry("test_fetch", "test_async.py")["calls"]
    assert calls.get("test_async:test_fetch") == 1, calls
    # A coroutine is one call however often it resumes.
    assert calls.get("shop.aio:fetch") == 1, calls
    assert calls.get("shop.cart:price") == 3, calls
    assert strays(project.entry("test_fetch", "test_async.py")) == [], calls

    project.write("shop/aio.py", AIO.format(rounds=2))
    result = project.run("--callflow")
    assert failed_ids(result) == {"test_async.py::test_fetch"}
    block = failure_block(result, "test_fetch")
    assert "shop.cart:price" in block and "3" in block and "6" in block, block


PHASES = """
import pytest

from shop.cart import price


@pytest.fixture
def warm():
    for i in range(5):
        price(i)
    yield
    for i in range(7):
        price(i)


def test_phases(warm):
    price(1)
"""


def test_phases_widen_what_is_traced(project: Project) -> None:
    project.shop()
    project.write("test_phases.py", PHASES)
    seen = {}
    for phases in ("", "setup,call", "setup,call,teardown"):
        project.update(*([f"--callflow-phases={phases}"] if phases else []))
        seen[phases] = project.entry("test_phases", "test_phases.py")["calls"]["shop.cart:price"]
    assert seen == {"": 1, "setup,call": 6, "setup,call,teardown": 13}


SER = """
import json


def dump(obj):
    return json.dumps(obj)
"""

SER_TEST = """
from shop.ser import dump


def test_dump():
    assert dump({"a": 1}) == '{"a": 1}'
"""


@pytest.mark.parametrize("how", ["default", "option-all", "ini-all", "prefix"])
def test_scope(project: Project, how: str) -> None:
    project.write("shop/__init__.py", "")
    project.write("shop/ser.py", SER)
    project.write("test_ser.py", SER_TEST)
    args: List[str] = []
    if how == "option-all":
        args = ["--callflow-scope=all"]
    elif how == "ini-all":
        project.ini("callflow_scope = all")
    elif how == "prefix":
        args = ["--callflow-scope=shop"]
    project.update(*args)
    calls = project.entry("test_dump", "test_ser.py")["calls"]
    internals = sorted(name for name in calls if name.startswith("json.encoder:"))
    assert calls.get("shop.ser:dump") == 1, calls
    if how.endswith("-all"):
        assert "json.encoder:JSONEncoder.encode" in internals, calls
        assert calls.get("test_ser:test_dump") == 1, calls
    else:
        # The standard library is at most a leaf: none of its internals.
        assert internals == [], calls
        assert calls.get("test_ser:test_dump") == (None if how == "prefix" else 1), calls


LIVE = """
from pytest_callflow import LiveCallGraph

from shop.cart import Cart


def test_live(callflow):
    assert isinstance(callflow, LiveCallGraph)
    Cart(range(4)).total()
    assert callflow.calls("shop.cart:price") == 4
    Cart(range(2)).total()
    assert callflow.calls("shop.cart:price") == 6
    assert callflow.calls("shop.cart:Cart.total") == 2
"""


def test_callflow_fixture_is_the_live_graph_of_the_test(project: Project) -> None:
    project.shop()
    project.write("test_live.py", LIVE)
    result = project.run("--callflow")
    assert result.ret == 0, text(result)
    result.assert_outcomes(passed=1)


def test_the_caller_chain_of_a_method_names_its_class(project: Project) -> None:
    project.shop(repeat=1)
    project.write("test_kinds.py", KINDS)
    project.update()
    project.shop(repeat=3)
    result = project.run("--callflow", "-k", "TestPlain")
    block = failure_block(result, "TestPlain.test_method")
    chain = (r"test_kinds:TestPlain\.test_method" + ARROW + r"shop\.cart:Cart\.total" + ARROW
             + r"shop\.cart:price\b")
    assert re.search(chain, block), block


def test_projects_with_the_same_module_names_in_one_process(pytester: pytest.Pytester,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # Two rootdirs, one interpreter (as in-process pytester runs, or any
    # tool running several sessions): each project's shop.cart is its own
    # code, in scope for its own session.
    counts = []
    for name in ("first", "second"):
        root = pytester.mkdir(name)
        monkeypatch.chdir(root)
        project = Project(pytester, monkeypatch, root)
        project.cart_project()
        project.update(str(root))
        counts.append(project.entry("test_total")["calls"].get("shop.cart:price"))
    assert counts == [10, 10]
