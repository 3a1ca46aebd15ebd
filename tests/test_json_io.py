"""JSON files: round trips, the .json output of trace_scope, bad input."""

import json
import os
import re
from pathlib import Path
from typing import Any, Callable

import pytest

from cfutil import counts, edge_counts, qn
from programs import naming, recursion
from pytest_callflow import CallGraph, trace_scope

FIB = qn(recursion.fib)


def _sample() -> Any:
    with trace_scope() as g:
        recursion.fib(10)
        recursion.is_even(5)
        naming.outer()
    return g


def test_save_load_round_trip_is_equal(tmp_path: Path) -> None:
    g = _sample()
    path = tmp_path / "graph.json"
    g.save(str(path))
    loaded = CallGraph.load(str(path))
    assert loaded.to_dict() == g.to_dict()
    assert counts(loaded) == counts(g)
    assert edge_counts(loaded) == edge_counts(g)
    assert loaded.calls(FIB) == 177
    assert loaded.total_calls == g.total_calls
    f, lf = g.function(FIB), loaded.function(FIB)
    assert (lf.total_time, lf.self_time) == (f.total_time, f.self_time)


def test_saved_file_is_versioned_json(tmp_path: Path) -> None:
    path = tmp_path / "graph.json"
    _sample().save(str(path))
    data = json.loads(path.read_text())
    assert data["schema"] == "callflow/1"


def test_save_accepts_a_path_object(tmp_path: Path) -> None:
    g = _sample()
    path = tmp_path / "graph.json"
    g.save(path)
    assert CallGraph.load(path).to_dict() == g.to_dict()


def test_dict_round_trip_is_equal() -> None:
    g = _sample()
    d = g.to_dict()
    json.dumps(d)  # plain JSON data
    again = CallGraph.from_dict(d)
    assert again.to_dict() == d
    assert counts(again) == counts(g)
    assert again.root is not None


def test_loaded_graph_keeps_the_tree(tmp_path: Path) -> None:
    g = _sample()
    path = tmp_path / "graph.json"
    g.save(str(path))
    loaded = CallGraph.load(str(path))
    assert [c.name for c in loaded.root.children] == [c.name for c in g.root.children]


@pytest.mark.parametrize("as_path", [str, Path], ids=["str", "Path"])
def test_trace_scope_writes_json_output_on_exit(
    tmp_path: Path, as_path: Callable[[Any], Any]
) -> None:
    path = tmp_path / "out.json"
    with trace_scope(as_path(path)) as g:
        recursion.fib(9)
        assert not path.exists()
    assert path.exists()
    loaded = CallGraph.load(str(path))
    assert loaded.calls(FIB) == 109
    assert counts(loaded) == counts(g)
    assert loaded.to_dict() == g.to_dict()


def test_save_to_a_directory_is_an_os_error_naming_it(tmp_path: Path) -> None:
    target = tmp_path / "adir.json"
    target.mkdir()
    with pytest.raises(OSError) as info:
        _sample().save(str(target))
    assert str(target) in str(info.value)
    assert target.is_dir()


def test_load_of_a_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        CallGraph.load(str(tmp_path / "missing.json"))


def _valid_text(tmp_path: Path) -> str:
    path = tmp_path / "valid.json"
    _sample().save(str(path))
    return path.read_text()


# (id, content from a valid file's text); all are syntax errors.
SYNTAX_ERRORS = [
    ("truncated-half", lambda t: t[: len(t) // 2]),
    ("truncated-last-byte", lambda t: t.rstrip()[:-1]),
    ("garbage", lambda t: "{this is not json"),
    ("empty", lambda t: ""),
    ("trailing-junk", lambda t: t + "\n}}"),
]


@pytest.mark.parametrize("make", [m for _, m in SYNTAX_ERRORS], ids=[i for i, _ in SYNTAX_ERRORS])
def test_malformed_json_is_a_value_error_naming_file_and_position(
    tmp_path: Path, make: Callable[[str], str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(make(_valid_text(tmp_path)))
    before = bad.read_bytes()
    stamp = os.stat(str(bad)).st_mtime_ns
    with pytest.raises(ValueError) as info:
        CallGraph.load(str(bad))
    message = str(info.value)
    assert str(bad) in message
    # A position: "file:line:column" or "line N".
    assert re.search(r"(:\d+:\d+|line \d+)", message), message
    # A failed load leaves the file untouched.
    assert bad.read_bytes() == before
    assert os.stat(str(bad)).st_mtime_ns == stamp


SHAPE_ERRORS = [
    ("list", "[1, 2, 3]"),
    ("other-schema", '{"schema": "callflow/999", "functions": []}'),
    ("no-schema", '{"functions": []}'),
    ("bad-count", None),  # a valid file whose first count is a string
]


@pytest.mark.parametrize("content", [c for _, c in SHAPE_ERRORS], ids=[i for i, _ in SHAPE_ERRORS])
def test_wrong_shape_is_a_value_error_naming_the_file(tmp_path: Path, content: Any) -> None:
    bad = tmp_path / "shape.json"
    if content is None:
        text = _valid_text(tmp_path)
        text, n = re.subn(r'("calls"\s*:\s*)(\d+)', r'\1"\2"', text, count=1)
        assert n == 1
        content = text
    bad.write_text(content)
    before = bad.read_bytes()
    with pytest.raises(ValueError) as info:
        CallGraph.load(str(bad))
    assert str(bad) in str(info.value)
    assert bad.read_bytes() == before
