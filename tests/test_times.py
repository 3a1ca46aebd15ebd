"""Times (loose sanity only) and the calling-context tree."""

from collections import defaultdict

from cfutil import counts, qn, walk
from programs import naming, recursion, timed
from pytest_callflow import trace_scope

FIB = qn(recursion.fib)


def close(a: float, b: float) -> bool:
    """Equal within a small tolerance: 0.2 ms plus 5% of the larger."""
    return abs(a - b) <= 2e-4 + 0.05 * max(abs(a), abs(b))


def test_inclusive_is_self_plus_children_in_the_tree() -> None:
    with trace_scope() as g:
        timed.root_work()
    checked = 0
    for _, node in walk(g.root):
        if node.name is None:  # the root stands for the scope itself
            continue
        children = sum(c.total_time for c in node.children)
        assert close(node.total_time, node.self_time + children), node.name
        assert 0 <= node.self_time <= node.total_time, node.name
        checked += 1
    assert checked >= 6


def test_inclusive_is_self_plus_callees_per_function() -> None:
    with trace_scope() as g:
        timed.root_work()
    for fn in (timed.root_work, timed.branch_a, timed.branch_b):
        f = g.function(qn(fn))
        callees = sum(e.total_time for e in g.edges() if e.caller == qn(fn))
        assert close(f.total_time, f.self_time + callees), qn(fn)
    spin = g.function(qn(timed.spin))
    assert spin.calls == 4
    a, b = g.function(qn(timed.branch_a)), g.function(qn(timed.branch_b))
    assert g.function(qn(timed.root_work)).total_time >= a.total_time + b.total_time


def test_times_are_positive_seconds() -> None:
    with trace_scope() as g:
        timed.nap(0.02)
        timed.root_work()
    nap = g.function(qn(timed.nap))
    # Seconds (floats), not milliseconds or nanoseconds.
    assert isinstance(nap.total_time, float)
    assert 0.015 <= nap.total_time < 5.0
    for f in g.functions():
        if f.name.startswith(timed.__name__ + ":"):
            assert f.total_time > 0, f.name
        assert 0 <= f.self_time <= f.total_time, f.name
        assert f.suspended_time >= 0, f.name


def test_tree_root_and_fib_paths() -> None:
    with trace_scope() as g:
        recursion.fib(20)
    root = g.root
    assert root.name is None
    assert [c.name for c in root.children] == [FIB]
    assert [c.name for c in g.tree.children] == [FIB]
    assert root.children[0].calls == 1
    fib_nodes = [(d, n) for d, n in walk(root) if n.name == FIB]
    # One node per depth: fib(20) recurses 20 frames deep.
    assert max(d for d, _ in fib_nodes) == 20
    assert len(fib_nodes) == 20
    assert sum(n.calls for _, n in fib_nodes) == 21891


def test_tree_of_mutual_recursion_alternates() -> None:
    even, odd = qn(recursion.is_even), qn(recursion.is_odd)
    with trace_scope() as g:
        recursion.is_even(10)
    chain = []
    node = g.root
    while node.children:
        assert len(node.children) == 1
        node = node.children[0]
        chain.append((node.name, node.calls))
    assert chain == [(even if i % 2 == 0 else odd, 1) for i in range(11)]


def test_tree_calls_add_up_to_function_calls() -> None:
    with trace_scope() as g:
        naming.outer()
        naming.make_adder(2)(3)
        for _ in range(4):
            naming.Beta().run()
        recursion.fib(8)
    per_name: dict = defaultdict(int)
    for _, node in walk(g.root):
        if node.name is not None:
            per_name[node.name] += node.calls
    assert dict(per_name) == counts(g)


def test_deep_tree_is_complete(recursion_limit) -> None:
    import sys

    recursion_limit(sys.getrecursionlimit() + 3200)
    with trace_scope() as g:
        recursion.countdown(3000)
    depths = [d for d, n in walk(g.root) if n.name == qn(recursion.countdown)]
    assert len(depths) == 3001
    assert max(depths) == 3001
