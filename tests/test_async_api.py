"""The original CallFlow Tracer's async API (``callflow_tracer``):
``trace_async``, ``trace_scope_async``, ``AsyncCallGraph``,
``gather_traced`` and ``get_async_stats``, on the task-aware core.

Times are asserted as generous ranges around sleeps (a sleep never ends
early; a busy machine only makes it longer)."""

import asyncio
import gc
import inspect
import json
import time
import warnings
from typing import Any, Awaitable, Callable, Dict, List, Tuple

import pytest

import callflow_tracer
from callflow_tracer import (
    AsyncCallGraph,
    AsyncCallNode,
    gather_traced,
    get_async_stats,
    get_current_graph,
    trace_async,
    trace_scope_async,
)
from pytest_callflow import trace_scope

MOD = __name__


def full(fn: Callable[..., Any]) -> str:
    """The facade's node key of a function: ``module.qualname``."""
    return f"{fn.__module__}.{fn.__qualname__}"


def run_scoped(body: Callable[[], Awaitable[Any]], **options: Any) -> Tuple[AsyncCallGraph, Any]:
    """Run ``body`` inside a trace_scope_async on a fresh loop."""
    async def main() -> Tuple[AsyncCallGraph, Any]:
        async with trace_scope_async(**options) as graph:
            value = await body()
        return graph, value
    return asyncio.run(main())


def spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


# ---------------------------------------------------------------------------
# programs


@trace_async
async def sleeper(n: int, delay: float = 0.05) -> int:
    """Sleep, then give n back."""
    await asyncio.sleep(delay)
    return n


async def task_a() -> str:
    await asyncio.sleep(0.03)
    return "a"


async def task_b() -> str:
    await asyncio.sleep(0.03)
    return "b"


async def sleep_then_spin() -> None:
    await asyncio.sleep(0.1)
    spin(0.05)


class Oops(Exception):
    pass


@trace_async
async def raiser(error: BaseException) -> None:
    await asyncio.sleep(0)
    raise error


async def blocker() -> None:
    await asyncio.sleep(0)
    time.sleep(0.15)


# ---------------------------------------------------------------------------
# trace_async


def plain(x: int) -> int:
    return x


def gen() -> Any:
    yield 1


@pytest.mark.parametrize("func", [plain, gen, lambda: 1, int], ids=["function", "generator",
                                                                   "lambda", "class"])
def test_trace_async_refuses_what_is_not_async(func: Any) -> None:
    with pytest.raises(TypeError, match=r"trace_async: .* is not an async function"):
        trace_async(func)


def test_trace_async_keeps_name_signature_and_value() -> None:
    assert sleeper.__name__ == "sleeper" and sleeper.__doc__ == "Sleep, then give n back."
    assert str(inspect.signature(sleeper)) == "(n: int, delay: float = 0.05) -> int"
    assert inspect.iscoroutinefunction(sleeper)
    graph, value = run_scoped(lambda: sleeper(7, 0))
    assert value == 7
    node = graph.nodes[full(sleeper)]
    assert isinstance(node, AsyncCallNode)
    assert node.call_count == 1 and node.is_async
    assert node.callflow_name == f"{MOD}:sleeper"


def test_an_exception_propagates_unchanged_and_the_call_is_recorded() -> None:
    error = Oops("from a traced coroutine")

    async def body() -> None:
        with pytest.raises(Oops) as info:
            await raiser(error)
        assert info.value is error

    graph, _ = run_scoped(body)
    assert graph.nodes[full(raiser)].call_count == 1


def test_trace_async_outside_a_scope_records_into_the_default_graph() -> None:
    callflow_tracer.clear_trace()
    assert asyncio.run(sleeper(3, 0)) == 3
    graph = get_current_graph()
    assert graph is not None and graph.nodes[full(sleeper)].call_count == 1
    stats = get_async_stats(graph)
    assert stats["total_async_functions"] >= 1
    callflow_tracer.clear_trace()


# ---------------------------------------------------------------------------
# trace_scope_async


def test_the_scope_yields_an_async_graph_that_is_current_inside() -> None:
    seen: List[Any] = []

    async def main() -> AsyncCallGraph:
        async with trace_scope_async() as graph:
            seen.append(get_current_graph())
            await sleeper(plain(1), 0)
        seen.append(get_current_graph())
        return graph

    graph = asyncio.run(main())
    assert isinstance(graph, AsyncCallGraph)
    assert seen[0] is graph and seen[1] is not graph
    node = graph.nodes[full(sleeper)]
    assert node.is_async and node.call_count == 1
    assert node.total_time == pytest.approx(node.active_time + node.await_time, abs=1e-6)
    assert full(sleeper) in graph.async_nodes and full(plain) not in graph.async_nodes
    assert graph.nodes[full(plain)].call_count == 1 and not graph.nodes[full(plain)].is_async


def test_concurrent_scopes_in_different_tasks_keep_their_own_graphs() -> None:
    current: Dict[str, List[Any]] = {"a": [], "b": []}

    async def scope_a(a_in: asyncio.Event, b_in: asyncio.Event,
                      a_out: asyncio.Event) -> AsyncCallGraph:
        async with trace_scope_async() as graph:
            a_in.set()
            await b_in.wait()
            current["a"].append(get_current_graph())
            await gather_traced(sleeper(1, 0))
        a_out.set()
        return graph

    async def scope_b(a_in: asyncio.Event, b_in: asyncio.Event,
                      a_out: asyncio.Event) -> AsyncCallGraph:
        await a_in.wait()
        async with trace_scope_async() as graph:
            b_in.set()
            await gather_traced(task_a(), task_b())
            await a_out.wait()  # scope a has exited: b must still be current
            current["b"].append(get_current_graph())
            await gather_traced(task_a())
        return graph

    async def main() -> Tuple[AsyncCallGraph, AsyncCallGraph]:
        events = (asyncio.Event(), asyncio.Event(), asyncio.Event())  # on this loop (3.9)
        ga, gb = await asyncio.gather(scope_a(*events), scope_b(*events))
        return ga, gb

    ga, gb = asyncio.run(main())
    assert current["a"] == [ga] and current["b"] == [gb] and ga is not gb
    assert [len(g["tasks"]) for g in ga.async_info["groups"]] == [1]
    assert [len(g["tasks"]) for g in gb.async_info["groups"]] == [2, 1]
    tasks_b = {t["id"]: t["function"] for t in gb.async_info["tasks"]}
    assert [sorted(tasks_b[i] for i in g["tasks"]) for g in gb.async_info["groups"]] == [
        [f"{MOD}:task_a", f"{MOD}:task_b"], [f"{MOD}:task_a"]]


def test_output_json_in_the_original_shape(tmp_path: Any) -> None:
    path = tmp_path / "out" / "trace.json"
    run_scoped(lambda: gather_traced(sleeper(1, 0), sleeper(2, 0)), output_file=str(path))
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert set(doc) == {"nodes", "edges", "metadata"}
    (node,) = [n for n in doc["nodes"] if n["full_name"] == full(sleeper)]
    assert node["call_count"] == 2 and node["is_async"] is True and node["max_concurrent"] == 2
    assert {"await_time", "active_time", "concurrent_calls"} <= set(node)
    info = doc["metadata"]["async_info"]
    assert info["concurrent_tasks"][full(sleeper)]["max"] == 2
    assert info["total_async_functions"] >= 1 and info["peak_concurrency"] == 2
    assert {e["event"] for e in info["task_timeline"]} >= {"start", "finish"}
    assert info["groups"][0]["label"] == "gather_traced #1"


def test_output_html_is_the_report_page(tmp_path: Any) -> None:
    path = tmp_path / "trace.html"
    run_scoped(lambda: gather_traced(sleeper(1, 0)), output_file=str(path))
    page = path.read_text(encoding="utf-8")
    assert "<html" in page.lower() and "sleeper" in page
    assert "gather_traced #1" in page  # the group reached the page's task data


def test_bad_output_and_threshold_are_refused_up_front() -> None:
    with pytest.raises(ValueError, match=r"trace\.txt.*supported formats: json, html"):
        trace_scope_async("trace.txt")
    with pytest.raises(ValueError, match="blocking_threshold"):
        trace_scope_async(blocking_threshold=0)
    with pytest.raises(TypeError, match="async with"):
        with trace_scope_async():  # type: ignore[attr-defined]
            pass


def test_blocking_threshold_reaches_the_core() -> None:
    graph, _ = run_scoped(lambda: gather_traced(blocker(), sleeper(1, 0.01)),
                          blocking_threshold=0.1)
    info = graph.async_info
    assert [b["function"] for b in info["blocking"]] == [f"{MOD}:blocker"]
    assert info["blocking_threshold_ns"] == 100_000_000


# ---------------------------------------------------------------------------
# gather_traced


def test_gather_traced_returns_results_in_order_and_records_the_group() -> None:
    delays = [0.03, 0.0, 0.02, 0.01]
    graph, results = run_scoped(
        lambda: gather_traced(*(sleeper(i, d) for i, d in enumerate(delays))))
    assert results == [0, 1, 2, 3]
    (group,) = graph.async_info["groups"]
    assert group["label"] == "gather_traced #1" and len(group["tasks"]) == 4
    by_id = {t["id"]: t for t in graph.async_info["tasks"]}
    assert {by_id[i]["function"] for i in group["tasks"]} == {f"{MOD}:sleeper"}
    assert all(by_id[i]["name"].startswith("callflow-gather-") for i in group["tasks"])


def test_gather_traced_raises_as_gather_does() -> None:
    error = Oops("first")

    async def body() -> List[Any]:
        with pytest.raises(Oops) as info:
            await gather_traced(sleeper(1, 0), raiser(error))
        assert info.value is error
        return await gather_traced(raiser(error), sleeper(2, 0), return_exceptions=True)

    graph, results = run_scoped(body)
    assert results == [error, 2]
    states = [t["state"] for t in graph.async_info["tasks"] if t["function"] == f"{MOD}:raiser"]
    assert states == ["failed", "failed"]


def test_cancelling_gather_traced_cancels_its_tasks() -> None:
    async def body() -> None:
        outer = asyncio.ensure_future(gather_traced(sleeper(1, 10), sleeper(2, 10)))
        await asyncio.sleep(0.01)
        outer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await outer

    graph, _ = run_scoped(body)
    states = [t["state"] for t in graph.async_info["tasks"] if t["function"] == f"{MOD}:sleeper"]
    assert states == ["cancelled", "cancelled"]


def test_gather_traced_outside_a_scope_is_plain_gather() -> None:
    async def main() -> List[int]:
        same = sleeper(5, 0)
        return await gather_traced(sleeper(4, 0), same, same)
    assert asyncio.run(main()) == [4, 5, 5]
    assert asyncio.run(gather_traced()) == []


def test_gather_traced_refuses_what_is_not_awaitable() -> None:
    async def body() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "never awaited" would be an error
            with pytest.raises(TypeError, match=r"argument 1 is not awaitable: 42"):
                await gather_traced(sleeper(1, 0), 42)  # type: ignore[arg-type]
            gc.collect()

    graph, _ = run_scoped(body)
    assert graph.async_info is None or graph.async_info["groups"] == []


def test_nested_scopes_both_see_the_group() -> None:
    async def main() -> Tuple[AsyncCallGraph, AsyncCallGraph]:
        async with trace_scope_async() as outer:
            async with trace_scope_async() as inner:
                await gather_traced(task_a(), task_b())
        return outer, inner

    outer, inner = asyncio.run(main())
    for graph in (outer, inner):
        (group,) = graph.async_info["groups"]
        assert len(group["tasks"]) == 2


# ---------------------------------------------------------------------------
# get_async_stats


def test_ten_sleeping_tasks_await_half_a_second_at_low_efficiency() -> None:
    graph, _ = run_scoped(lambda: gather_traced(*(sleeper(i) for i in range(10))))
    stats = get_async_stats(graph)
    assert set(stats) == {"total_async_functions", "total_async_time", "total_await_time",
                          "total_active_time", "efficiency", "max_concurrent_tasks",
                          "concurrent_tasks", "timeline_events"}
    # 10 x 50 ms of sleeping, plus the main task waiting for them.
    assert 0.5 <= stats["total_await_time"] < 2.0, stats
    assert stats["efficiency"] < 20.0, stats
    assert stats["total_async_time"] == pytest.approx(
        stats["total_await_time"] + stats["total_active_time"], abs=2e-6)
    assert stats["max_concurrent_tasks"] == 10
    assert stats["concurrent_tasks"][full(sleeper)] == {"count": 0, "max": 10, "tasks": 10}
    assert stats["timeline_events"] >= 10 * 3  # start, suspend/resume, finish per task
    assert graph.nodes[full(sleeper)].await_time >= 0.5
    assert graph.nodes[full(sleeper)].max_concurrent == 10


def test_five_of_one_and_three_of_another_give_eight() -> None:
    graph, results = run_scoped(
        lambda: gather_traced(*[task_a() for _ in range(5)], *[task_b() for _ in range(3)]))
    assert results == ["a"] * 5 + ["b"] * 3
    stats = get_async_stats(graph)
    assert stats["max_concurrent_tasks"] == 8
    assert stats["concurrent_tasks"][full(task_a)]["max"] == 5
    assert stats["concurrent_tasks"][full(task_b)]["max"] == 3


def test_sequential_awaits_give_one() -> None:
    async def body() -> None:
        for i in range(3):
            await sleeper(i, 0.01)

    graph, _ = run_scoped(body)
    assert get_async_stats(graph)["max_concurrent_tasks"] == 1


def test_await_and_active_split_on_sleeps_and_spins() -> None:
    graph, _ = run_scoped(lambda: gather_traced(sleep_then_spin(), sleep_then_spin()))
    stats = get_async_stats(graph)
    # Two tasks: 0.1 s asleep each, then 0.05 s running each, one after the
    # other (0.05 s more waiting for one); the main task waits ~0.2 s (as
    # far as the core saw it: it opened the scope mid-step).
    assert 0.1 <= stats["total_active_time"] < 0.6, stats
    assert 0.24 <= stats["total_await_time"] < 2.0, stats
    assert 5.0 < stats["efficiency"] < 50.0, stats
    node = graph.nodes[full(sleep_then_spin)]
    assert 0.2 <= node.await_time < 1.0 and 0.1 <= node.active_time < 0.6


def test_stats_of_a_core_graph_and_of_a_dict_round_trip() -> None:
    async def main() -> Any:
        async with trace_scope(scope="all") as graph:
            await asyncio.gather(task_a(), task_b())
        return graph

    core = asyncio.run(main())
    stats = get_async_stats(core)
    assert stats["max_concurrent_tasks"] == 2
    graph = AsyncCallGraph.from_callflow(core)
    again = get_async_stats(AsyncCallGraph.from_dict(graph.to_dict()))
    for key in ("total_async_functions", "max_concurrent_tasks", "concurrent_tasks",
                "timeline_events"):
        assert again[key] == stats[key], key
    for key in ("total_async_time", "total_await_time", "total_active_time"):
        assert again[key] == pytest.approx(stats[key], abs=1e-5), key


def test_stats_refuse_what_is_not_a_graph() -> None:
    with pytest.raises(TypeError, match="get_async_stats expects a call graph"):
        get_async_stats({"nodes": []})
