"""Async tests under the plugin: pytest-asyncio and anyio tests get the
task-aware graph, the ``--callflow-json`` result carries their async
figures, and ``@pytest.mark.callflow(max_blocking_ms=...)`` fails a test
whose event loop was blocked longer."""

import importlib.util
import json
import textwrap
from typing import Any, Dict

import pytest

from plugin_projects import Project, failed_ids, failure_block, json_record, text


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Project:
    return Project(pytester, monkeypatch)


AIO = """
import asyncio
import time


async def fetch(n):
    await asyncio.sleep(0.01)
    return n


async def fetch_all(k):
    return await asyncio.gather(*(fetch(i) for i in range(k)))


async def blocker():
    await asyncio.sleep(0)
    time.sleep(0.3)  # a step that never yields: the loop is stuck
"""

HEADS = {
    "asyncio": """
        import asyncio

        import pytest

        from shop import aio

        run = pytest.mark.asyncio
    """,
    "anyio": """
        import asyncio

        import pytest

        from shop import aio

        run = pytest.mark.anyio


        @pytest.fixture
        def anyio_backend():
            return "asyncio"
    """,
}

TESTS = """

@run
async def test_fan_out():
    assert await aio.fetch_all(4) == [0, 1, 2, 3]


@run
async def test_one_after_another():
    for i in range(3):
        assert await aio.fetch(i) == i


@run
@pytest.mark.callflow(max_blocking_ms=100)
async def test_blocks():
    await asyncio.gather(aio.blocker(), aio.fetch(1))


@run
@pytest.mark.callflow(max_blocking_ms=100)
async def test_polite():
    assert await aio.fetch_all(2) == [0, 1]


def test_sync():
    assert aio.fetch
"""

PLUGINS = {"asyncio": ("pytest_asyncio", "pytest-asyncio"), "anyio": ("anyio", "anyio")}


def async_project(project: Project, runner: str) -> None:
    module, dist = PLUGINS[runner]
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{dist} is not installed (see tests/requirements.txt)")
    project.write("shop/__init__.py", "")
    project.write("shop/aio.py", AIO)
    project.write("test_aio.py", textwrap.dedent(HEADS[runner]) + TESTS)


def records(project: Project, path: str = "out.json") -> Dict[str, Any]:
    doc = json.loads((project.root / path).read_text(encoding="utf-8"))
    return {key: json_record(doc, f"test_aio.py::{key}")
            for key in ("test_fan_out", "test_one_after_another", "test_blocks",
                        "test_polite", "test_sync")}


@pytest.mark.parametrize("runner", sorted(PLUGINS))
def test_async_figures_in_the_json_result(project: Project, runner: str) -> None:
    async_project(project, runner)
    result = project.run("--callflow", "--callflow-json=out.json")
    assert failed_ids(result) == {"test_aio.py::test_blocks"}, text(result)
    found = records(project)
    fan_out = found["test_fan_out"]["async"]
    assert fan_out["peak_concurrency"] == 4  # the test waits for its four tasks
    assert fan_out["tasks"] == 5 and fan_out["blocking"] == 0
    assert 0.0 < fan_out["avg_concurrency"] <= 4.0
    assert fan_out["longest_step_ms"] < 100.0
    assert found["test_one_after_another"]["async"]["peak_concurrency"] == 1
    blocks = found["test_blocks"]["async"]
    assert blocks["longest_step_function"] == "shop.aio:blocker"
    assert blocks["longest_step_ms"] >= 300.0 and blocks["blocking"] == 1
    assert "async" not in found["test_sync"]
    (finding,) = found["test_blocks"]["findings"]
    assert finding["kind"] == "blocking" and finding["function"] == "shop.aio:blocker"


@pytest.mark.parametrize("gate", ["--callflow", "--no-callflow"])
def test_max_blocking_ms_fails_a_blocking_test_only(project: Project, gate: str) -> None:
    async_project(project, "asyncio")
    result = project.run(gate)
    assert failed_ids(result) == {"test_aio.py::test_blocks"}, text(result)
    block = failure_block(result, "test_blocks")
    assert "shop.aio:blocker blocked the event loop for" in block, block
    assert "max_blocking_ms 100" in block, block
    line = [ln for ln in text(result).splitlines() if "blocked the event loop for" in ln][0]
    milliseconds = float(line.split("blocked the event loop for ")[1].split(" ms")[0])
    assert milliseconds >= 300.0, line


def test_async_tests_are_gated_on_calls_as_before(project: Project) -> None:
    async_project(project, "asyncio")
    project.run("--callflow", "--callflow-update")
    entry = project.entry("test_fan_out", "test_aio.py")
    assert entry["calls"]["shop.aio:fetch"] == 4
    assert entry["calls"]["shop.aio:fetch_all"] == 1
    assert entry["edges"]["shop.aio:fetch_all"]["shop.aio:fetch"] == 4
    # Callers are the awaiting coroutines, never the event loop.
    assert [c for c in entry["edges"] if c.startswith("asyncio.")] == [], entry["edges"]


@pytest.mark.parametrize("value", ["'fast'", "-5", "0", "True", "float('inf')"])
def test_a_bad_max_blocking_ms_is_a_collection_error(project: Project, value: str) -> None:
    project.write("test_bad.py", f"""
        import pytest


        @pytest.mark.callflow(max_blocking_ms={value})
        def test_marked():
            pass
    """)
    result = project.run()
    out = text(result)
    assert result.ret != 0
    assert "test_bad.py::test_marked" in out and "max_blocking_ms must be a positive number" in out
    shown = {"'fast'": "'fast'", "float('inf')": "inf"}.get(value, value)
    assert f"got {shown}" in out, out
