"""Task-aware recording of asyncio programs by the core
(``pytest_callflow.trace_scope``, ``CallGraph.async_info``): concurrency
figures, the await/active split, callers and task parents, exceptions,
cancellation, async generators, threads with their own loops, blocking.

The programs are defined here, so this module is the project's own code
(the tests run with tests/ as the current directory).  Times are asserted
as generous ranges around sleeps, never as exact figures."""

import asyncio
import json
import sys
import threading
import time
from typing import Any, Awaitable, Callable, Dict, List, Tuple

import pytest

from cfutil import qn
from pytest_callflow import CallGraph, trace_scope

pytestmark = pytest.mark.usefixtures("in_tests_dir")

SLEEP = 0.05
# asyncio.run, called by record(): the creator of each program's main task
# (outside code, so a leaf of the project scope, not its internals).
RUN = "asyncio.runners:run"


def record(program: Callable[[], Awaitable[Any]], **options: Any) -> CallGraph:
    """Run ``program`` with asyncio.run inside a project-scoped trace_scope."""
    with trace_scope(scope="project", **options) as graph:
        asyncio.run(program())
    return graph


def tasks_of(graph: CallGraph, function: Callable[..., Any]) -> List[Dict[str, Any]]:
    info = graph.async_info
    assert info is not None, "no async_info: no task was recorded"
    return [t for t in info["tasks"] if t["function"] == qn(function)]


def spin(seconds: float) -> None:
    """Run (not sleep) for ``seconds``."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


# ---------------------------------------------------------------------------
# programs


async def worker(n: int) -> int:
    await asyncio.sleep(0)
    await asyncio.sleep(SLEEP)
    return n


async def gather_five() -> List[int]:
    return await asyncio.gather(*(worker(i) for i in range(5)))


async def one_by_one() -> None:
    for i in range(3):
        await worker(i)


async def task_by_task() -> None:
    for i in range(3):
        await asyncio.create_task(worker(i))


async def sleep_then_spin() -> None:
    await asyncio.sleep(0.1)
    spin(0.05)


async def split_program() -> None:
    await asyncio.gather(sleep_then_spin(), sleep_then_spin())


async def inner() -> int:
    await asyncio.sleep(0)
    return 1


async def outer() -> int:
    child = asyncio.create_task(spawned())
    value = await inner()
    return value + await child


async def spawned() -> int:
    await asyncio.sleep(0)
    return 2


async def callers_program() -> int:
    return await outer()


async def many_resumes() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def resumes_program() -> None:
    await asyncio.create_task(many_resumes())


class Boom(Exception):
    pass


async def failing() -> None:
    await asyncio.sleep(0)
    raise Boom("inside a task")


RAISED: List[BaseException] = []


async def failing_program() -> None:
    try:
        await asyncio.create_task(failing())
    except Boom as exc:
        RAISED.append(exc)


async def victim() -> None:
    await asyncio.sleep(10)


def after_cancel() -> int:
    return 3


async def cancel_program() -> None:
    task = asyncio.create_task(victim())
    await asyncio.sleep(0)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    else:
        raise AssertionError("the task was not cancelled")
    after_cancel()


async def numbers(n: int) -> Any:
    for i in range(n):
        await asyncio.sleep(0.01)
        yield i


async def consume() -> int:
    total = 0
    async for value in numbers(4):
        total += value
    return total


async def agen_program() -> None:
    await asyncio.create_task(consume())


async def blocker() -> None:
    await asyncio.sleep(0)
    time.sleep(0.2)  # blocks the loop: one long step


async def polite() -> None:
    for _ in range(5):
        await asyncio.sleep(0.01)


async def blocking_program() -> None:
    await asyncio.gather(blocker(), polite())


async def thread_worker() -> None:
    await asyncio.sleep(0.02)


async def thread_main() -> None:
    await asyncio.gather(thread_worker(), thread_worker(), thread_worker())


def run_thread_loop() -> None:
    asyncio.run(thread_main())


async def main_worker() -> None:
    await asyncio.sleep(0.02)


async def threads_program() -> None:
    thread = threading.Thread(target=run_thread_loop)
    thread.start()
    await asyncio.gather(main_worker(), main_worker())
    await asyncio.get_running_loop().run_in_executor(None, thread.join)


# ---------------------------------------------------------------------------
# concurrency


def test_n_gathered_tasks_peak_at_n() -> None:
    graph = record(gather_five)
    info = graph.async_info
    assert info is not None
    assert info["peak_concurrency"] == 5
    assert info["per_function_peak"][qn(worker)] == 5
    workers = tasks_of(graph, worker)
    assert len(workers) == 5
    assert {t["state"] for t in workers} == {"finished"}
    assert len({t["id"] for t in info["tasks"]}) == len(info["tasks"])
    # Five in flight most of the time, the gathering task not counted.
    assert 1.0 < info["avg_concurrency"] <= 5.0
    assert info["timeline_dropped"] == 0 and info["groups"] == []
    assert graph.calls(worker) == 5


def test_sequential_awaits_peak_at_one() -> None:
    graph = record(one_by_one)
    info = graph.async_info
    assert info is not None
    assert info["peak_concurrency"] == 1
    assert tasks_of(graph, worker) == []  # awaited coroutines run in the main task
    assert graph.calls(worker) == 3


def test_awaiting_each_created_task_in_turn_peaks_at_one() -> None:
    # The main task waits for its child: only the child is in flight.
    graph = record(task_by_task)
    info = graph.async_info
    assert info is not None
    assert info["peak_concurrency"] == 1
    assert len(tasks_of(graph, worker)) == 3
    assert graph.calls(worker) == 3


def test_a_coroutine_is_one_call_however_often_it_resumes() -> None:
    graph = record(resumes_program)
    (task,) = tasks_of(graph, many_resumes)
    assert graph.calls(many_resumes) == 1
    assert task["steps"] >= 21  # first step + one per await
    events = [e for _, tid, e in graph.async_info["timeline"] if tid == task["id"]]
    assert events[0] == "start" and events[-1] == "finish"
    assert events.count("suspend") == events.count("resume") >= 20


def test_await_and_active_time_split_on_sleeps() -> None:
    graph = record(split_program)
    stats = graph.function(sleep_then_spin)
    assert stats.calls == 2 and stats.is_coroutine
    # Per call: 0.1 s suspended, 0.05 s running (the two calls overlap in
    # the sleep, then spin one after the other).
    assert 0.2 <= stats.suspended_time < 0.8, stats
    assert 0.1 <= stats.active_time < 0.5, stats
    assert stats.total_time == pytest.approx(stats.active_time + stats.suspended_time, rel=1e-6)
    for task in tasks_of(graph, sleep_then_spin):
        assert 0.05e9 <= task["active_ns"] < 0.4e9, task
        assert task["end_ns"] - task["start_ns"] >= 0.15e9, task


# ---------------------------------------------------------------------------
# callers and parents


def test_the_awaiting_coroutine_is_the_caller() -> None:
    graph = record(callers_program)
    assert graph.edge_calls(outer, inner) == 1
    assert graph.edge_calls(callers_program, outer) == 1
    assert graph.edge_calls(RUN, callers_program) == 1
    for edge in graph.edges():  # never the event loop or the task machinery
        assert edge.caller == RUN or not edge.caller.startswith("asyncio."), edge


def test_a_task_created_in_outer_has_outer_as_parent() -> None:
    graph = record(callers_program)
    paths = [n.path for n in graph.root.walk() if n.name == qn(spawned)]
    assert paths == [(RUN, qn(callers_program), qn(outer), qn(spawned))]
    (child,) = tasks_of(graph, spawned)
    (parent,) = [t for t in graph.async_info["tasks"] if t["id"] == child["parent"]]
    assert parent["function"] == qn(callers_program)  # the task running outer


# ---------------------------------------------------------------------------
# exceptions, cancellation, async generators


# Every hook: builtins=True takes the profile hook before 3.12, which is
# told that a frame exits with an exception but not with which.
HOOKS = [pytest.param(False, id="default-hook"), pytest.param(True, id="builtins-hook")]


def record_with(program: Callable[[], Awaitable[Any]], builtins: bool) -> CallGraph:
    graph = record(program, builtins=builtins)
    if builtins and sys.version_info < (3, 12):
        assert graph.meta["backend"] == "profile"
    return graph


def last_event(graph: CallGraph, task: Dict[str, Any]) -> str:
    return [e for _, tid, e in graph.async_info["timeline"] if tid == task["id"]][-1]


@pytest.mark.parametrize("builtins", HOOKS)
def test_a_failing_task_is_recorded_and_its_exception_propagates(builtins: bool) -> None:
    RAISED.clear()
    graph = record_with(failing_program, builtins)
    assert len(RAISED) == 1 and isinstance(RAISED[0], Boom)
    assert str(RAISED[0]) == "inside a task"
    (task,) = tasks_of(graph, failing)
    assert task["state"] == "failed" and task["end_ns"] is not None
    assert graph.calls(failing) == 1
    assert last_event(graph, task) == "fail"


async def stubborn() -> None:
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        raise Boom("refused to be cancelled") from None


async def stubborn_program() -> None:
    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    task.cancel()
    try:
        await task
    except Boom as exc:
        RAISED.append(exc)


@pytest.mark.parametrize("builtins", HOOKS)
def test_a_task_that_turns_its_cancellation_into_an_error_failed(builtins: bool) -> None:
    RAISED.clear()
    graph = record_with(stubborn_program, builtins)
    assert len(RAISED) == 1 and str(RAISED[0]) == "refused to be cancelled"
    (task,) = tasks_of(graph, stubborn)
    assert task["state"] == "failed" and last_event(graph, task) == "fail"


@pytest.mark.parametrize("builtins", HOOKS)
def test_a_cancelled_task_is_recorded_and_the_stack_stays_right(builtins: bool) -> None:
    graph = record_with(cancel_program, builtins)
    (task,) = tasks_of(graph, victim)
    assert task["state"] == "cancelled" and task["end_ns"] is not None
    assert last_event(graph, task) == "cancel"
    assert graph.calls(victim) == 1
    assert graph.function(victim).suspended_time < 1.0  # cancelled, not slept out
    # The call made after the cancellation belongs to the program, not to
    # the cancelled coroutine.
    assert graph.edge_calls(cancel_program, after_cancel) == 1
    assert graph.edge_calls(victim, after_cancel) == 0
    assert [n.path for n in graph.root.walk() if n.name == qn(after_cancel)] == [
        (RUN, qn(cancel_program), qn(after_cancel))]


@pytest.mark.parametrize("builtins", HOOKS)
def test_nested_scopes_both_see_the_cancellation(builtins: bool) -> None:
    with trace_scope(scope="project", builtins=builtins) as outer:
        with trace_scope(scope="project", builtins=builtins) as inner:
            asyncio.run(cancel_program())
    for graph in (outer, inner):
        (task,) = tasks_of(graph, victim)
        assert task["state"] == "cancelled" and last_event(graph, task) == "cancel"


async def cancel_many_program(n: int) -> None:
    tasks = [asyncio.create_task(victim()) for _ in range(n)]
    survivor = asyncio.create_task(worker(0))
    await asyncio.sleep(0)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await survivor
    RAISED.append(Boom("done"))


@pytest.mark.parametrize("builtins", HOOKS)
def test_many_cancellations_each_get_their_verdict(builtins: bool) -> None:
    RAISED.clear()
    graph = record_with(lambda: cancel_many_program(6), builtins)
    assert len(RAISED) == 1  # the program ran to its end
    states = sorted(t["state"] for t in tasks_of(graph, victim))
    assert states == ["cancelled"] * 6
    (survivor,) = tasks_of(graph, worker)
    assert survivor["state"] == "finished"


def test_async_generators_are_one_call_under_their_consumer() -> None:
    graph = record(agen_program)
    stats = graph.function(numbers)
    assert stats.calls == 1 and stats.is_async_generator
    assert graph.edge_calls(consume, numbers) == 1
    assert stats.suspended_time >= 0.04 * 0.9  # four 10 ms sleeps
    assert stats.total_time == pytest.approx(stats.active_time + stats.suspended_time, rel=1e-6)
    (task,) = tasks_of(graph, consume)
    assert task["state"] == "finished"


# ---------------------------------------------------------------------------
# threads, blocking, files


def test_a_thread_running_its_own_loop_stays_apart() -> None:
    graph = record(threads_program)
    info = graph.async_info
    assert info is not None
    theirs = tasks_of(graph, thread_worker) + tasks_of(graph, thread_main)
    ours = tasks_of(graph, main_worker) + tasks_of(graph, threads_program)
    assert len(theirs) == 4 and len(ours) == 3
    assert len({t["thread"] for t in theirs}) == 1
    assert len({t["thread"] for t in ours}) == 1
    assert {t["thread"] for t in theirs} != {t["thread"] for t in ours}
    ours_ids = {t["id"] for t in ours}
    assert all(t["parent"] not in ours_ids for t in theirs)
    for node in graph.root.walk():
        if node.name == qn(thread_worker):
            assert qn(threads_program) not in node.path, node.path
    assert graph.calls(thread_worker) == 3 and graph.calls(main_worker) == 2


def test_a_blocking_step_is_reported_with_its_function() -> None:
    graph = record(blocking_program, blocking_threshold=0.1)
    info = graph.async_info
    assert info is not None
    assert info["blocking_threshold_ns"] == 100_000_000
    assert [b["function"] for b in info["blocking"]] == [qn(blocker)]
    (entry,) = info["blocking"]
    assert entry["duration_ns"] >= 200_000_000
    (task,) = tasks_of(graph, blocker)
    assert entry["task"] == task["id"]
    assert info["longest_step_function"] == qn(blocker)
    assert info["longest_step_ns"] == entry["duration_ns"] == task["longest_step_ns"]
    assert info["blocking_dropped"] == 0


def test_a_higher_threshold_reports_no_blocking() -> None:
    graph = record(blocking_program, blocking_threshold=5.0)
    info = graph.async_info
    assert info is not None and info["blocking"] == []
    assert info["longest_step_function"] == qn(blocker)  # still measured


def test_async_info_is_none_without_tasks_and_survives_json(tmp_path: Any) -> None:
    with trace_scope(scope="project") as sync_graph:
        after_cancel()
    assert sync_graph.async_info is None
    graph = record(gather_five)
    path = tmp_path / "g.json"
    graph.save(path)
    loaded = CallGraph.load(path)
    assert loaded.async_info == graph.async_info
    assert graph.to_dict()["async"]["peak_concurrency"] == 5
    assert CallGraph.from_dict(graph.to_dict()).async_info == graph.async_info
    assert graph.snapshot().async_info == graph.async_info


def test_a_malformed_async_member_is_an_error_naming_the_file(tmp_path: Any) -> None:
    doc = record(gather_five).to_dict()
    doc["async"] = {"tasks": "none"}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.json: \"async\" must be an object"):
        CallGraph.load(path)
    with pytest.raises(ValueError, match=r"<dict>: \"async\" must be an object"):
        CallGraph.from_dict(doc)


@pytest.mark.parametrize("threshold", [-1, float("nan"), "0.1", True])
def test_a_bad_blocking_threshold_is_refused(threshold: Any) -> None:
    with pytest.raises((TypeError, ValueError), match="blocking_threshold"):
        trace_scope(blocking_threshold=threshold)


def test_under_scope_all_tasks_hang_from_their_creators_not_the_loop() -> None:
    # Scope "all" records asyncio's own frames too; a task still sits under
    # the project frame that made it, and the main task under the function
    # that ran the loop, not under the loop's Handle._run.
    def main() -> int:
        return asyncio.run(callers_program())

    with trace_scope(scope="all") as graph:
        main()
    paths = {n.path for n in graph.root.walk() if n.name == qn(spawned)}
    assert paths == {(qn(main), qn(callers_program), qn(outer), qn(spawned))}
    for edge in graph.edges():
        if edge.callee in (qn(callers_program), qn(spawned)):
            assert not edge.caller.startswith("asyncio."), edge


async def quick_helper() -> int:
    await asyncio.sleep(0)
    return 1


async def blocks_then_returns() -> int:
    spin(0.15)  # no await after it: the step ends with the task itself
    return 2


async def blocks_after_a_quick_helper() -> int:
    value = await quick_helper()
    spin(0.15)
    await asyncio.sleep(0)
    return value


async def blame_program() -> int:
    first = await blocks_then_returns()
    second = await asyncio.create_task(blocks_after_a_quick_helper())
    return first + second


def test_blocking_is_blamed_on_the_coroutine_that_ran_long() -> None:
    graph = record(blame_program)
    info = graph.async_info
    assert info is not None
    blamed = sorted(b["function"] for b in info["blocking"])
    # Not the task's outermost coroutine (blame_program), not the helper that
    # awaited just before the spin: the coroutines that ran 150 ms each.
    assert blamed == sorted([qn(blocks_then_returns), qn(blocks_after_a_quick_helper)])


async def pause_in_helper() -> None:
    await asyncio.sleep(0)


async def spawner() -> int:
    # Three tasks made from one line, an await in a helper between them: the
    # hooks' call caches must never serve loop.create_task (each spawn is
    # noted where it is made), or the later tasks would fall back to the
    # helper where their creator last suspended.
    made = []
    for i in range(3):
        made.append(asyncio.create_task(worker(i)))
        await pause_in_helper()
    return sum(await asyncio.gather(*made))


def worker_parents(
    program: Callable[[], Awaitable[Any]], scope: str
) -> Tuple[CallGraph, List[str]]:
    """Run ``program`` in a scope; the graph, and the caller of each worker node."""
    with trace_scope(scope=scope) as graph:
        asyncio.run(program())
    return graph, [n.path[-2] for n in graph.root.walk() if n.name == qn(worker)]


@pytest.mark.parametrize("scope", ["all", "project"])
def test_every_task_made_on_one_line_hangs_from_its_creator(scope: str) -> None:
    graph, parents = worker_parents(spawner, scope)
    assert parents and set(parents) == {qn(spawner)}, parents
    assert graph.calls(worker) == 3


async def spawns_every_way() -> int:
    # Each way of making a task, an await in a helper before each: a loop
    # that makes tasks in C (uvloop) is not seen making them, so the Python
    # function that asks it to must say where each comes from.
    made: List["asyncio.Future[int]"] = [asyncio.create_task(worker(0))]
    await pause_in_helper()
    made.append(asyncio.ensure_future(worker(1)))
    await pause_in_helper()
    made.append(asyncio.gather(worker(2)))  # type: ignore[arg-type]
    await pause_in_helper()
    if hasattr(asyncio, "TaskGroup"):  # 3.11+
        async with asyncio.TaskGroup() as group:
            await pause_in_helper()
            group.create_task(worker(3))
    results = await asyncio.gather(*made)
    return len(results)


def run_on(loop: str, program: Callable[[], Awaitable[Any]]) -> Any:
    if loop == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        return uvloop.run(program())
    return asyncio.run(program())


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@pytest.mark.parametrize("scope", ["all", "project"])
def test_tasks_made_every_way_hang_from_their_creator(loop: str, scope: str) -> None:
    with trace_scope(scope=scope) as graph:
        assert run_on(loop, spawns_every_way) == 3
    expected = 4 if hasattr(asyncio, "TaskGroup") else 3
    parents = [n.path[-2] for n in graph.root.walk() if n.name == qn(worker)]
    assert graph.calls(worker) == expected
    assert parents and set(parents) == {qn(spawns_every_way)}, parents
    assert {t["state"] for t in tasks_of(graph, worker)} == {"finished"}


@pytest.mark.parametrize("builtins", HOOKS)
def test_a_cancelled_task_on_uvloop_is_recorded_cancelled(builtins: bool) -> None:
    pytest.importorskip("uvloop")
    with trace_scope(scope="project", builtins=builtins) as graph:
        run_on("uvloop", cancel_program)
    (task,) = tasks_of(graph, victim)
    assert task["state"] == "cancelled" and last_event(graph, task) == "cancel"


# ---------------------------------------------------------------------------
# eager tasks (3.12+): a task's first step runs inside its creator's step

eager_only = pytest.mark.skipif(
    not hasattr(asyncio, "eager_task_factory"), reason="eager tasks need Python 3.12+"
)


async def eager_spawner() -> int:
    # Each task's first step runs inside create_task, within this step;
    # after it the creator's step goes on and makes the next task.
    made = [asyncio.create_task(worker(i)) for i in range(3)]
    return sum(await asyncio.gather(*made))


async def eager_program() -> int:
    asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
    await asyncio.sleep(0)  # the creator's last suspension: never the parent
    return await eager_spawner()


@eager_only
@pytest.mark.parametrize("scope", ["all", "project"])
def test_eager_tasks_hang_from_their_creator(scope: str) -> None:
    graph, parents = worker_parents(eager_program, scope)
    assert parents and set(parents) == {qn(eager_spawner)}, parents
    assert graph.calls(worker) == 3
    creators = {t["id"] for t in graph.async_info["tasks"] if t["function"] == qn(eager_program)}
    assert len(creators) == 1
    assert [t["parent"] for t in tasks_of(graph, worker)] == [creators.pop()] * 3


async def eager_blocker() -> int:
    # Makes an eager task, then blocks the loop in its own step: the blame
    # is this coroutine's, though a nested step ran in between.
    task = asyncio.create_task(quick_helper())
    spin(0.15)
    await asyncio.sleep(0)
    return await task


async def eager_blame_program() -> int:
    asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
    return await asyncio.create_task(eager_blocker())


@eager_only
def test_a_creator_blocking_after_an_eager_step_is_blamed() -> None:
    graph = record(eager_blame_program)
    info = graph.async_info
    assert info is not None
    assert [b["function"] for b in info["blocking"]] == [qn(eager_blocker)]
    (helper,) = tasks_of(graph, quick_helper)
    (blocker,) = tasks_of(graph, eager_blocker)
    assert helper["parent"] == blocker["id"]
    assert helper["state"] == blocker["state"] == "finished"


async def eager_spinner() -> None:
    spin(0.3)  # this eager task's first step blocks the loop
    await asyncio.sleep(0)


async def makes_an_eager_spinner() -> "asyncio.Task[None]":
    return asyncio.create_task(eager_spinner())  # returns right after its step


async def blocks_after_an_eager_spinner() -> None:
    task = await makes_an_eager_spinner()
    spin(0.15)  # this step's own block, after the nested one
    await asyncio.sleep(0)
    await task


async def nested_blame_program() -> None:
    asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
    await asyncio.create_task(blocks_after_an_eager_spinner())


@eager_only
def test_a_coroutine_that_only_contained_an_eager_step_is_not_blamed() -> None:
    graph = record(nested_blame_program)
    info = graph.async_info
    assert info is not None
    blocks = {b["function"]: b for b in info["blocking"]}
    # makes_an_eager_spinner was live during the nested 0.3 s, but ran no
    # longer than a moment of its own.
    assert set(blocks) == {qn(eager_spinner), qn(blocks_after_an_eager_spinner)}
    spinner, creator = blocks[qn(eager_spinner)], blocks[qn(blocks_after_an_eager_spinner)]
    assert 0.25e9 < spinner["duration_ns"] and 0.12e9 < creator["duration_ns"] < 0.25e9
    # The creator's block started when its step did, before the nested one.
    (creator_task,) = tasks_of(graph, blocks_after_an_eager_spinner)
    assert creator["start_ns"] <= spinner["start_ns"]
    assert creator["start_ns"] >= creator_task["start_ns"]
