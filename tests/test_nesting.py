"""The innermost open scope (pytest_callflow.nesting), whatever order the
scopes end in, and in which context."""

import contextvars
import gc
import weakref

import callflow_tracer
from pytest_callflow.nesting import Nesting


class Value:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


def test_levels_left_in_order() -> None:
    n: "Nesting[str]" = Nesting("t1")
    assert n.get() is None
    a = n.enter("a")
    b = n.enter("b")
    assert n.get() == "b"
    assert list(n.open_values()) == ["b", "a"]
    n.leave(b)
    assert n.get() == "a"
    n.leave(a)
    assert n.get() is None
    assert list(n.open_values()) == []


def test_levels_left_out_of_order_never_bring_an_ended_one_back() -> None:
    n: "Nesting[str]" = Nesting("t2")
    z = n.enter("z")
    a = n.enter("a")
    b = n.enter("b")
    n.leave(a)  # before b, entered after it
    assert n.get() == "b"
    assert list(n.open_values()) == ["b", "z"]
    n.leave(b)
    assert n.get() == "z", "a ended: z is the innermost open level"
    n.leave(z)
    assert n.get() is None
    n.leave(a)  # twice: nothing
    n.leave(None)
    assert n.get() is None


def test_a_level_left_in_another_context_is_skipped_in_its_own() -> None:
    n: "Nesting[str]" = Nesting("t3")
    outer = n.enter("outer")
    inner = n.enter("inner")
    contextvars.copy_context().run(n.leave, inner)  # e.g. a task that copied the context
    assert n.get() == "outer"
    n.leave(outer)
    assert n.get() is None


def test_an_ended_level_keeps_its_value_alive_no_longer() -> None:
    n: "Nesting[Value]" = Nesting("t4")
    v = Value("big graph")
    ref = weakref.ref(v)
    a = n.enter(v)
    b = n.enter(Value("inner"))
    n.leave(a)
    del v
    gc.collect()
    assert ref() is None, "the inner level still links to a, not to its value"
    n.leave(b)


def test_the_facade_scopes_exited_out_of_order() -> None:
    # callflow_tracer.trace_scope entered and exited by hand: the current
    # graph is the innermost scope still running, else the default one.
    a, b = callflow_tracer.trace_scope(), callflow_tracer.trace_scope()
    ga = a.__enter__()
    gb = b.__enter__()
    a.__exit__(None, None, None)
    assert callflow_tracer.get_current_graph() is gb
    b.__exit__(None, None, None)
    assert callflow_tracer.get_current_graph() is not ga
    assert callflow_tracer.get_current_graph() is not gb
