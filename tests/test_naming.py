"""Function identity is module:qualname, the same in a script and here."""

import importlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cfutil import counts, edge_counts, module_of, names
from programs import naming
from pytest_callflow import CallGraph, trace_scope

M = naming.__name__


def test_same_named_methods_of_two_classes_are_kept_apart() -> None:
    with trace_scope() as g:
        a = naming.Alpha()
        a.run()
        a.run()
        for _ in range(3):
            naming.Beta().run()
        naming.Alpha.Inner().run()
    assert g.calls(M + ":Alpha.run") == 2
    assert g.calls(M + ":Beta.run") == 3
    assert g.calls(M + ":Alpha.Inner.run") == 1


def test_static_class_methods_and_properties() -> None:
    with trace_scope() as g:
        naming.Alpha.make()
        naming.Alpha.build()
        assert naming.Alpha().value == 2
    assert g.calls(M + ":Alpha.make") == 1
    assert g.calls(M + ":Alpha.build") == 1
    assert g.calls(M + ":Alpha.value") == 1


def test_lambdas_are_named_by_where_they_are_defined() -> None:
    with trace_scope() as g:
        assert naming.square(4) == 16
        scale = naming.make_scaler(3)
        assert [scale(1), scale(2)] == [3, 6]
    assert g.calls(M + ":<lambda>") == 1
    assert g.calls(M + ":make_scaler.<locals>.<lambda>") == 2
    assert g.calls(M + ":make_scaler") == 1


def test_closures_and_nested_functions() -> None:
    with trace_scope() as g:
        add = naming.make_adder(5)
        assert add(1) + add(2) == 13
        assert naming.outer() == 1
    assert g.calls(M + ":make_adder.<locals>.add") == 2
    assert g.calls(M + ":outer.<locals>.middle") == 1
    assert g.calls(M + ":outer.<locals>.middle.<locals>.inner") == 1
    assert g.edge_calls(M + ":outer", M + ":outer.<locals>.middle") == 1


def test_wrapper_made_by_functools_wraps_keeps_its_own_name() -> None:
    # wraps() copies __qualname__ onto the wrapper *function*; the code that
    # runs is still deco.<locals>.wrapper, and it calls decorated.
    with trace_scope() as g:
        assert naming.decorated(1) == 2
        assert naming.decorated(2) == 3
    assert g.calls(M + ":deco.<locals>.wrapper") == 2
    assert g.calls(M + ":decorated") == 2
    assert g.edge_calls(M + ":deco.<locals>.wrapper", M + ":decorated") == 2


def test_generator_expressions_and_local_classes() -> None:
    with trace_scope() as g:
        assert naming.gen_total(10) == 45
        assert naming.local_class() == 5
    assert g.calls(M + ":gen_total.<locals>.<genexpr>") == 1
    assert g.calls(M + ":local_class.<locals>.Local.go") == 1


def test_every_name_is_module_colon_qualname() -> None:
    with trace_scope() as g:
        naming.Alpha().run()
        naming.make_adder(1)(1)
        naming.outer()
    for name in names(g):
        module, sep, qualname = name.partition(":")
        assert sep and module and qualname, name
        assert ":" not in qualname, name


SCRIPT = '''
import functools
import sys


class Shape:
    def area(self):
        return 1

    class Nested:
        def area(self):
            return 2


def twice(fn):
    @functools.wraps(fn)
    def wrapper(*args):
        return fn(*args) + fn(*args)
    return wrapper


@twice
def one():
    return 1


def make_counter():
    count = 0

    def bump():
        nonlocal count
        count += 1
        return count
    return bump


def run():
    total = Shape().area() + Shape.Nested().area() + one()
    bump = make_counter()
    for _ in range(3):
        total += bump()
    total += sum(x for x in range(4))
    total += (lambda v: v * 2)(5)
    return total


if __name__ == "__main__":
    from pytest_callflow import trace_scope
    with trace_scope(scope=sys.argv[2]) as graph:
        run()
    graph.save(sys.argv[1])
'''

EXPECTED_IN_SCRIPT = {
    "run",
    "Shape.area",
    "Shape.Nested.area",
    "twice.<locals>.wrapper",
    "one",
    "make_counter",
    "make_counter.<locals>.bump",
    "run.<locals>.<genexpr>",
    "run.<locals>.<lambda>",
}


@pytest.mark.parametrize("scope", ["all", "project"])
def test_names_are_the_same_in_a_script_and_under_pytest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scope: str
) -> None:
    modname = "cf_names_prog_" + scope
    script = tmp_path / (modname + ".py")
    script.write_text(textwrap.dedent(SCRIPT))
    out = tmp_path / "script.json"
    proc = subprocess.run(
        [sys.executable, str(script), str(out), scope],
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    from_script = CallGraph.load(str(out))

    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        mod = importlib.import_module(modname)
        with trace_scope(scope=scope) as here:
            assert mod.run() == 1 + 2 + 2 + 6 + 6 + 10
    finally:
        sys.modules.pop(modname, None)

    ours = {n.split(":", 1)[1] for n in names(here) if module_of(n) == modname}
    assert ours == EXPECTED_IN_SCRIPT
    assert not any(module_of(n) == "__main__" for n in names(from_script))
    assert counts(from_script) == counts(here)
    assert edge_counts(from_script) == edge_counts(here)


def test_methods_generated_from_strings_are_named_after_their_class() -> None:
    from programs import naming

    with trace_scope(scope="project") as g:
        assert naming.make_generated()
    assert g.calls("programs.naming:Point.__init__") == 2
    assert g.calls("programs.naming:Point3.__init__") == 1
    assert g.calls("programs.naming:Point.__eq__") == 1
    assert g.calls("programs.naming:Pair.__new__") == 1
    assert not [f.name for f in g.functions() if f.name.startswith("<string>")]
    # They belong to their class's file, so the project scope records them.
    assert not g.function("programs.naming:Point.__init__").is_external
