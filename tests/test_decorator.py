"""The @trace decorator, get_current_graph() and clear_trace()."""

import pytest

from cfutil import names, qn
from programs import errors, recursion
from pytest_callflow import clear_trace, get_current_graph, trace, trace_scope

FIB = qn(recursion.fib)


@trace
def driver(n: int) -> int:
    """Doc of driver."""
    return recursion.fib(n)


@trace
def tfib(n: int) -> int:
    return n if n < 2 else tfib(n - 1) + tfib(n - 2)


@trace
def failing(exc: BaseException) -> None:
    errors.level1(exc)


@pytest.fixture(autouse=True)
def _fresh_default_graph():
    clear_trace()
    yield
    clear_trace()


def test_decorator_keeps_the_function_metadata() -> None:
    assert driver.__name__ == "driver"
    assert driver.__doc__ == "Doc of driver."
    assert driver.__wrapped__(3) == 2  # type: ignore[attr-defined]


def test_decorated_function_outside_a_scope_records_into_the_default_graph() -> None:
    assert driver(10) == 55
    g = get_current_graph()
    assert g.calls(qn(driver)) == 1
    assert g.calls(FIB) == 177
    assert g.edge_calls(qn(driver), FIB) == 1
    # Only the decorated call is traced, not what runs after it.
    recursion.fib(5)
    assert get_current_graph().calls(FIB) == 177
    # Later calls add up in the same default graph.
    driver(3)
    g = get_current_graph()
    assert g.calls(qn(driver)) == 2
    assert g.calls(FIB) == 177 + 5


def test_clear_trace_forgets_the_default_graph() -> None:
    driver(10)
    clear_trace()
    driver(3)
    g = get_current_graph()
    assert g.calls(qn(driver)) == 1
    assert g.calls(FIB) == 5


def test_the_wrapper_is_not_in_the_graph() -> None:
    driver(4)
    g = get_current_graph()
    assert names(g) == {qn(driver), FIB}


def test_recursive_decorated_function_counts_exactly() -> None:
    assert tfib(10) == 55
    g = get_current_graph()
    assert g.calls(qn(tfib)) == 177
    assert g.edge_calls(qn(tfib), qn(tfib)) == 176


def test_decorated_function_inside_a_scope_records_into_the_scope() -> None:
    with trace_scope() as g:
        assert get_current_graph() is g
        assert driver(10) == 55
    assert g.calls(qn(driver)) == 1
    assert g.calls(FIB) == 177
    # Counted once, in the scope, not also in the default graph.
    default = get_current_graph()
    assert default is None or default.calls(qn(driver)) == 0


def test_exceptions_pass_through_the_decorator() -> None:
    exc = errors.Boom("through")
    with pytest.raises(errors.Boom) as info:
        failing(exc)
    assert info.value is exc
    g = get_current_graph()
    assert g.calls(qn(failing)) == 1
    assert g.calls(qn(errors.level3)) == 1
    # A failed call does not leave tracing on.
    recursion.fib(3)
    assert get_current_graph().calls(FIB) == 0
