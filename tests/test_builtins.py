"""C functions are recorded when a scope asks for them (builtins=True):
through sys.monitoring CALL/C_RETURN/C_RAISE on 3.12+, through the profile
hook before."""

import math
import sys

import pytest

from pytest_callflow import trace_scope

from programs import cfuncs

REPORT = "programs.cfuncs:report"
LAMBDA = "programs.cfuncs:longest_first.<locals>.<lambda>"


def test_off_by_default_only_python_functions() -> None:
    with trace_scope() as g:
        cfuncs.report(range(20))
    assert not [f.name for f in g.functions() if f.is_builtin]
    assert g.calls(REPORT) == 1


def test_builtins_are_counted_and_named() -> None:
    with trace_scope(builtins=True) as g:
        cfuncs.report(range(20))
    # len: 20 in the generator expression + 20 from the sort key.
    assert g.calls("builtins:len") == 40
    assert g.calls("builtins:sorted") == 1
    assert g.calls("builtins:sum") == 1
    assert g.calls("math:sqrt") == 1
    # A bound method is named by its class, like the unbound one.
    assert g.calls("builtins:str.join") == 1
    assert g.function("builtins:len").is_builtin
    # The sort key is called by sorted: the C function is its caller.
    assert g.edge_calls("builtins:sorted", LAMBDA) == 20
    assert g.edge_calls("programs.cfuncs:report", "builtins:str.join") == 1


def test_unbound_and_bound_forms_are_one_function() -> None:
    with trace_scope(builtins=True) as g:
        str.join(",", ["a", "b"])
        ",".join(["c"])
    assert g.calls("builtins:str.join") == 2


def test_project_scope_keeps_builtins_as_leaves(in_tests_dir: None) -> None:
    with trace_scope(scope="project", builtins=True) as g:
        cfuncs.report(range(5))
    sorted_stats = g.function("builtins:sorted")
    assert sorted_stats.is_external
    # The project callback under the C function is still recorded.
    assert g.edge_calls("builtins:sorted", LAMBDA) == 5


def test_a_c_function_that_raises_keeps_the_stack_right() -> None:
    with trace_scope(builtins=True) as g:
        result = cfuncs.safe_sqrt([4.0, -1.0, 9.0])
    assert result[0] == 2.0 and math.isnan(result[1]) and result[2] == 3.0
    assert g.calls("math:sqrt") == 3
    assert g.edge_calls("programs.cfuncs:safe_sqrt", "math:sqrt") == 3
    # Nothing was left open under the raising call: list.append stays a child
    # of safe_sqrt, never of math:sqrt.
    assert g.edge_calls("math:sqrt", "builtins:list.append") == 0
    assert g.edge_calls("programs.cfuncs:safe_sqrt", "builtins:list.append") == 3


def test_the_tracers_own_c_calls_are_not_recorded() -> None:
    with trace_scope(builtins=True) as g:
        len("abc")
    names = [f.name for f in g.functions()]
    assert names == ["builtins:len"], names


def test_nested_scopes_only_the_one_asking_gets_builtins() -> None:
    with trace_scope(builtins=True) as outer:
        with trace_scope() as inner:
            cfuncs.report(range(3))
        cfuncs.report(range(3))
    assert outer.calls("builtins:len") == 12
    assert outer.calls(REPORT) == 2
    assert inner.calls("builtins:len") == 0
    assert inner.calls(REPORT) == 1


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12+ records C calls with any scope")
def test_before_312_a_builtins_scope_inside_a_frame_hook_scope_is_refused() -> None:
    with trace_scope() as outer:
        with pytest.raises(ValueError, match="builtins needs the 'profile' backend"):
            with trace_scope(builtins=True):
                pass
        cfuncs.report(range(3))
    assert outer.calls(REPORT) == 1


@pytest.mark.skipif(sys.version_info < (3, 12), reason="needs sys.monitoring")
def test_312_a_builtins_scope_nests_in_any_scope() -> None:
    with trace_scope() as outer:
        with trace_scope(builtins=True) as inner:
            cfuncs.report(range(3))
    assert inner.calls("builtins:len") == 6
    assert outer.calls("builtins:len") == 0
