"""What a scope records: nesting, "project", module prefixes, include and
exclude lists."""

import asyncio
import json
import json.encoder

import pytest

from cfutil import counts, edge_counts, module_of, names, outside_edges, qn
from programs import gens, layered, other, recursion, stdlib_user, workers
from pytest_callflow import clear_trace, get_current_graph, trace, trace_scope
from pytest_callflow.scope import active_scope

FIB = qn(recursion.fib)
EVEN, ODD = qn(recursion.is_even), qn(recursion.is_odd)
DUMPS = qn(json.dumps)


def test_nested_scopes_inner_sees_its_part_outer_sees_all() -> None:
    with trace_scope() as outer:
        recursion.fib(5)
        with trace_scope() as inner:
            recursion.is_even(4)
        recursion.countdown(3)
    assert counts(inner) == {EVEN: 3, ODD: 2}
    assert outer.calls(FIB) == 15
    assert outer.calls(EVEN) == 3
    assert outer.calls(ODD) == 2
    assert outer.calls(qn(recursion.countdown)) == 4
    assert outer.edge_calls(EVEN, ODD) == inner.edge_calls(EVEN, ODD) == 2


def test_nested_scopes_with_different_scope_rules() -> None:
    with trace_scope() as outer:
        with trace_scope(scope=[layered.__name__]) as inner:
            layered.top(10)
    assert outer.calls(qn(other.deep)) == 10
    assert inner.calls(qn(other.deep)) == 0
    assert outer.calls(qn(layered.local)) == inner.calls(qn(layered.local)) == 10


@trace
def _traced_fib(n: int) -> int:
    return recursion.fib(n)


def test_scopes_exited_out_of_order_leave_the_innermost_running_one_active() -> None:
    # Entered and exited by hand in any order: the innermost scope is the
    # nearest still running one, and with none left @trace records in its
    # default session again (an exited scope must never come back).
    z, a, b = trace_scope(), trace_scope(), trace_scope()
    gz = z.__enter__()
    a.__enter__()
    b.__enter__()
    a.__exit__(None, None, None)
    assert active_scope() is b
    b.__exit__(None, None, None)
    assert active_scope() is z, "a has exited: z is the innermost running scope"
    assert get_current_graph() is gz
    z.__exit__(None, None, None)
    assert active_scope() is None
    a, b = trace_scope(), trace_scope()
    a.__enter__()
    b.__enter__()
    a.__exit__(None, None, None)
    b.__exit__(None, None, None)
    assert active_scope() is None
    clear_trace()
    _traced_fib(5)
    assert get_current_graph().calls(FIB) == 15, "recorded by @trace's own session"
    clear_trace()


def test_successive_scopes_are_independent_and_usable_after_the_block() -> None:
    with trace_scope() as first:
        recursion.fib(6)
    with trace_scope() as second:
        recursion.fib(4)
    assert first.calls(FIB) == 25
    assert second.calls(FIB) == 9
    # Reading a finished graph again gives the same answer.
    assert first.calls(FIB) == 25


def test_unknown_scope_is_a_value_error_naming_the_allowed_values() -> None:
    with pytest.raises(ValueError) as info:
        with trace_scope(scope="everything"):
            pass  # pragma: no cover - the scope must not open
    message = str(info.value)
    assert "'all'" in message or '"all"' in message or "all" in message.split()
    assert "project" in message


def test_project_scope_keeps_stdlib_calls_as_leaves(in_tests_dir: str) -> None:
    objs = [{"a": [1, 2, {"b": None}]}, [1.5, "x"], "s", 3, {"k": True}]
    with trace_scope(scope="project") as g:
        out = stdlib_user.encode_all(objs)
    assert out == [json.dumps(o) for o in objs]
    assert g.calls(qn(stdlib_user.encode_all)) == 1
    assert g.calls(DUMPS) == 5
    assert g.edge_calls(qn(stdlib_user.encode_all), DUMPS) == 5
    # No json internals, and nothing below the leaf.
    assert not [n for n in names(g) if n != DUMPS and module_of(n).startswith("json")]
    assert outside_edges(g, in_tests_dir) == set()


def test_project_scope_sees_project_code_called_back_by_the_stdlib(
    in_tests_dir: str,
) -> None:
    with trace_scope(scope="project") as g:
        out = stdlib_user.encode_odd([object(), {1, 2}, 3, object()])
    assert out == ['"<object>"', '"<set>"', "3", '"<object>"']
    assert g.calls(qn(stdlib_user.fallback)) == 3
    assert g.calls(DUMPS) == 4
    assert not [n for n in names(g) if module_of(n).startswith("json.")]
    assert outside_edges(g, in_tests_dir) == set()


def test_project_scope_sees_project_code_run_by_asyncio_and_threads(
    in_tests_dir: str,
) -> None:
    with trace_scope(scope="project") as g:
        assert asyncio.run(gens.coro(50)) == sum(range(50))
        workers.run_threads(4, 100)
    assert g.calls(qn(gens.coro)) == 1
    assert g.calls(qn(gens.step)) == 50
    assert g.calls(qn(workers.work)) == 4
    assert g.calls(qn(workers.leaf)) == 400
    # asyncio and threading functions called by project code are leaves;
    # their internals are not recorded.
    assert outside_edges(g, in_tests_dir) == set()
    assert g.calls(qn(asyncio.sleep)) == 50


def test_include_modules_adds_outside_code_to_the_project(in_tests_dir: str) -> None:
    with trace_scope(scope="project", include_modules=["json"]) as g:
        stdlib_user.encode_all([{"a": 1}, [2], {"b": [3]}])
    assert g.calls(DUMPS) == 3
    assert g.calls(qn(json.encoder.JSONEncoder.encode)) == 3
    assert g.edge_calls(DUMPS, qn(json.encoder.JSONEncoder.encode)) == 3


def test_prefix_scope_records_only_matching_modules() -> None:
    with trace_scope(scope=[layered.__name__]) as g:
        assert layered.top(10) == 55 + 35 + 135
    assert g.calls(qn(layered.top)) == 1
    assert g.calls(qn(layered.local)) == 10
    # cb is in scope although out-of-scope code calls it.
    assert g.calls(qn(layered.cb)) == 10
    assert g.calls(qn(other.deep)) == 0
    # other.helper and other.call_back may be kept as leaves, but nothing
    # out of scope calls anything out of scope.
    assert not [
        (a, b)
        for a, b in edge_counts(g)
        if module_of(a) != layered.__name__ and module_of(b) != layered.__name__
    ]


def test_prefix_matches_whole_dotted_components() -> None:
    package = layered.__name__.rsplit(".", 1)[0]  # "programs"
    with trace_scope(scope=[package]) as g:
        layered.top(4)
    assert g.calls(qn(other.deep)) == 4
    assert g.calls(qn(layered.local)) == 4
    # "programs.layere" is a string prefix of "programs.layered" but not a
    # module prefix.
    # top, called straight from the block, may be kept as a leaf.
    with trace_scope(scope=[layered.__name__[:-1]]) as g2:
        layered.top(4)
    assert g2.calls(qn(layered.local)) == 0
    assert g2.calls(qn(layered.cb)) == 0
    assert names(g2) <= {qn(layered.top)}


def test_several_prefixes() -> None:
    with trace_scope(scope=[layered.__name__, recursion.__name__]) as g:
        layered.top(3)
        recursion.fib(4)
    assert g.calls(qn(layered.local)) == 3
    assert g.calls(FIB) == 9
    assert g.calls(qn(other.deep)) == 0


def test_exclude_modules_are_never_recorded() -> None:
    with trace_scope(exclude_modules=[other.__name__]) as g:
        assert layered.top(10) == 55 + 35 + 135
    assert not [n for n in names(g) if module_of(n) == other.__name__]
    assert g.calls(qn(layered.top)) == 1
    assert g.calls(qn(layered.local)) == 10
    assert g.calls(qn(layered.cb)) == 10


def test_exclude_wins_over_project(in_tests_dir: str) -> None:
    with trace_scope(scope="project", exclude_modules=[recursion.__name__]) as g:
        recursion.fib(5)
        workers.work(3)
    assert g.calls(FIB) == 0
    assert g.calls(qn(workers.work)) == 1
    assert g.calls(qn(workers.leaf)) == 3
