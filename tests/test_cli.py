"""The ``callflow`` command (pytest_callflow.cli): show, diff, export and
html on saved graphs, its exit statuses and its errors; and the same
subcommands under ``python -m pytest_callflow``."""

import json
import os
import pstats
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, List, Tuple

import pytest

from cfutil import qn
from programs import layered, recursion, timed
from pytest_callflow import CallGraph, cli, trace_scope

FIB = qn(recursion.fib)
TESTS_DIR = os.path.dirname(os.path.abspath(__file__))


def save(path: Path, fn: Any, *args: Any) -> str:
    with trace_scope() as g:
        fn(*args)
    g.save(path)
    return str(path)


def nap_then_spin(delay: float) -> None:
    timed.spin(1000)
    if delay:
        time.sleep(delay)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> Tuple[int, str, str]:
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def fibs(tmp_path: Path) -> Tuple[str, str]:
    return (save(tmp_path / "fib10.json", recursion.fib, 10),
            save(tmp_path / "fib12.json", recursion.fib, 12))


# ---------------------------------------------------------------------------
# show


def test_show_prints_tree_and_hottest_functions(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = save(tmp_path / "g.json", timed.root_work)
    status, out, err = run(capsys, "show", path, "--top", "2")
    assert status == 0 and err == ""
    assert out.startswith(f"{path}\n7 calls of 4 functions")
    assert "Call tree" in out and "Hottest functions (self time, top 2)" in out
    tree = out.split("Call tree")[1].split("Hottest")[0]
    assert f"  {qn(timed.root_work)}\n" in tree and f"    {qn(timed.branch_a)}\n" in tree
    hottest = out.split("Hottest functions")[1].strip().splitlines()[2:]
    assert len(hottest) == 2 and hottest[0].endswith(qn(timed.spin))


# ---------------------------------------------------------------------------
# diff


def test_diff_of_the_same_work_passes(fibs: Tuple[str, str], tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    again = save(tmp_path / "again.json", recursion.fib, 10)
    status, out, _ = run(capsys, "diff", fibs[0], again)
    assert status == 0
    assert out == f"{fibs[0]} -> {again}: passed; calls 177 -> 177\n"


def test_diff_fails_on_more_calls_naming_function_and_callers(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = save(tmp_path / "a.json", layered.top, 10)
    b = save(tmp_path / "b.json", layered.top, 30)
    status, out, _ = run(capsys, "diff", a, b)
    assert status == 1
    lines = out.splitlines()
    assert lines[0].startswith(f"{a} -> {b}: regressed (")
    local = qn(layered.local)
    assert f"REGRESSION  {local} calls 10 \N{RIGHTWARDS ARROW} 30 (+200%)" in lines
    assert f"              via {qn(layered.top)} \N{RIGHTWARDS ARROW} {local}" in lines
    # The other way round it is an improvement, and passes.
    status, out, _ = run(capsys, "diff", b, a)
    assert status == 0 and ": improved (" in out.splitlines()[0]


def test_diff_shows_direct_recursion_once_with_its_depth(
        fibs: Tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "diff", *fibs)
    assert status == 1
    fib = qn(recursion.fib)
    # fib(12)'s most-called path is 11 calls deep: shown as one name, not eleven.
    vias = [line.strip() for line in out.splitlines() if line.strip().startswith("via ")]
    assert vias and all(f"{fib} \N{RIGHTWARDS ARROW} {fib}" not in v for v in vias), vias
    assert any(v.startswith(f"via {fib} (\N{MULTIPLICATION SIGN}") and v.endswith(" deep)")
               for v in vias), vias


def test_diff_json(fibs: Tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "diff", *fibs, "--json")
    assert status == 1
    doc = json.loads(out)
    assert (doc["verdict"], doc["regressions"], doc["baseline"], doc["current"]) == \
        ("regressed", 2, fibs[0], fibs[1])
    assert doc["calls"] == {"baseline": 177, "current": 465}
    first = doc["findings"][0]
    assert {k: first[k] for k in ("kind", "verdict", "function", "before", "after")} == \
        {"kind": "calls", "verdict": "regression", "function": FIB, "before": 177.0,
         "after": 465.0}
    assert first["message"].startswith(f"{FIB} calls 177")
    assert doc["policy"]["max_calls_increase"] == 0.0 and doc["policy"]["time"] is False


def test_diff_tolerances_are_the_gates(fibs: Tuple[str, str], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    # 177 -> 465 calls is +163%.
    assert run(capsys, "diff", *fibs, "--max-calls-increase", "2.0")[0] == 0
    assert run(capsys, "diff", *fibs, "--max-calls-increase", "1.5")[0] == 1
    assert run(capsys, "diff", *fibs, "--ignore", "programs.recursion:")[0] == 0
    # A new function is a note, or a regression when strict.
    before = save(tmp_path / "one.json", recursion.fib, 0)
    both = tmp_path / "two.json"
    with trace_scope() as g:
        recursion.fib(0)
        recursion.is_even(0)
    g.save(both)
    status, out, _ = run(capsys, "diff", before, str(both), "--max-calls-increase", "1")
    assert status == 0 and f"note        {qn(recursion.is_even)} is new" in out
    assert run(capsys, "diff", before, str(both), "--max-calls-increase", "1", "--strict")[0] == 1


def test_diff_compares_times_only_when_asked(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    fast = save(tmp_path / "fast.json", nap_then_spin, 0.0)
    slow = save(tmp_path / "slow.json", nap_then_spin, 0.2)
    assert run(capsys, "diff", fast, slow)[0] == 0
    status, out, _ = run(capsys, "diff", fast, slow, "--time")
    assert status == 1 and f"REGRESSION  {qn(nap_then_spin)} time " in out
    assert run(capsys, "diff", fast, slow, "--time", "--time-floor-ms", "1000")[0] == 0


def test_diff_across_python_versions_warns(fibs: Tuple[str, str], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    doc = CallGraph.load(fibs[0]).to_dict()
    doc["meta"]["python"] = "2.7.18"
    old = tmp_path / "old.json"
    CallGraph.from_dict(doc).save(old)
    status, out, _ = run(capsys, "diff", str(old), fibs[1])
    assert status == 0
    assert "note: baseline recorded on Python 2.7" in out
    assert f"warning     {FIB} calls 177" in out


@pytest.mark.parametrize("argv, message", [
    (["--max-calls-increase", "-1"], "--max-calls-increase: expected a non-negative number"),
    (["--time-threshold", "nan"], "--time-threshold: expected a non-negative number"),
])
def test_diff_rejects_bad_tolerances(fibs: Tuple[str, str], argv: List[str], message: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["diff", *fibs, *argv])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


# ---------------------------------------------------------------------------
# unreadable graphs


def test_a_missing_graph_is_an_error_naming_it(fibs: Tuple[str, str], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "nope.json")
    for argv in (["show", missing], ["diff", fibs[0], missing], ["export", missing, "-f", "dot"],
                 ["html", missing, "-o", str(tmp_path / "x.html")]):
        status, out, err = run(capsys, *argv)
        assert (status, out) == (2, "")
        assert err == f"error: cannot read graph file {missing}: No such file or directory\n"


def test_a_corrupt_graph_is_an_error_naming_file_and_place(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "callflow/1",\n "functions": ')
    status, out, err = run(capsys, "show", str(bad))
    assert (status, out) == (2, "")
    assert err.startswith(f"error: not a callflow graph: {bad}:2:")
    # The original CallFlow Tracer's JSON: said so, with what to use.
    orig = tmp_path / "orig.json"
    orig.write_text(json.dumps({"nodes": [], "edges": [], "metadata": {}}))
    status, _, err = run(capsys, "show", str(orig))
    assert status == 2 and str(orig) in err and "callflow_tracer export" in err
    status, _, err = run(capsys, "show", str(tmp_path))
    assert status == 2 and err.startswith("error: ") and f"{tmp_path}: " in err
    assert "Is a directory" in err


# ---------------------------------------------------------------------------
# export and html


@pytest.mark.parametrize("fmt", ["speedscope", "pstats", "collapsed", "dot", "chrome"])
def test_export_each_format(fmt: str, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    path = save(tmp_path / "g.json", recursion.fib, 5)
    out = tmp_path / "sub" / f"out.{fmt}"
    status, stdout, _ = run(capsys, "export", path, "--format", fmt, "-o", str(out))
    assert status == 0 and stdout == f"wrote {out} ({fmt})\n"
    if fmt == "pstats":
        stats = pstats.Stats(str(out)).stats  # type: ignore[attr-defined]
        assert [v[:2] for v in stats.values()] == [(1, 15)]
    elif fmt == "collapsed":
        assert out.read_text().splitlines()[0] == f"{FIB} " + out.read_text().split()[1]
    elif fmt == "dot":
        assert out.read_text().startswith("digraph callflow {")
    else:
        doc = json.loads(out.read_text())
        assert "profiles" in doc if fmt == "speedscope" else "traceEvents" in doc


def test_export_default_name_and_stdout(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = save(tmp_path / "g.json", recursion.fib, 3)
    status, out, _ = run(capsys, "export", path, "-f", "speedscope")
    assert status == 0 and (tmp_path / "g.speedscope.json").is_file()
    status, out, _ = run(capsys, "export", path, "-f", "collapsed", "--value", "calls", "-o", "-")
    assert status == 0
    assert out.splitlines() == [f"{FIB} 1", f"{FIB};{FIB} 2", f"{FIB};{FIB};{FIB} 2"]
    with pytest.raises(SystemExit):
        cli.main(["export", path, "-f", "svg"])
    assert "invalid choice: 'svg'" in capsys.readouterr().err


def test_html_writes_a_report(fibs: Tuple[str, str], tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pytest_callflow.html", reason="the HTML reports are not built yet")
    one = tmp_path / "one.html"
    status, out, err = run(capsys, "html", fibs[0], "-o", str(one), "--title", "<fib>")
    assert (status, out, err) == (0, f"wrote {one}\n", "")
    text = one.read_text()
    assert text.lstrip().lower().startswith("<!doctype html") and "<fib>" not in text
    two = tmp_path / "two.html"
    status, out, _ = run(capsys, "html", *fibs, "-o", str(two), "--label1", "ten")
    assert status == 0 and two.read_text().lstrip().lower().startswith("<!doctype html")


# ---------------------------------------------------------------------------
# entry points


def command(*argv: str) -> "subprocess.CompletedProcess[str]":
    return subprocess.run([sys.executable, *argv], capture_output=True, text=True,
                          cwd=TESTS_DIR, timeout=300)


def test_python_m_pytest_callflow_reaches_every_subcommand(fibs: Tuple[str, str],
                                                           tmp_path: Path) -> None:
    diff = command("-m", "pytest_callflow", "diff", *fibs)
    assert diff.returncode == 1 and "REGRESSION" in diff.stdout
    export = command("-m", "pytest_callflow", "export", fibs[0], "-f", "dot", "-o", "-")
    assert export.returncode == 0 and export.stdout.startswith("digraph")
    show = command("-m", "pytest_callflow", "show", fibs[0])
    assert show.returncode == 0 and FIB in show.stdout
    out = tmp_path / "run.json"
    ran = command("-m", "pytest_callflow", "run", "-o", str(out),
                  os.path.join(TESTS_DIR, "programs", "timed.py"))
    assert ran.returncode == 0, ran.stderr
    assert CallGraph.load(out).total_calls >= 0
    missing = command("-m", "pytest_callflow", "show", str(tmp_path / "none.json"))
    assert missing.returncode == 2 and "none.json" in missing.stderr


def test_a_reader_that_leaves_early_is_no_error(fibs: Tuple[str, str]) -> None:
    # `callflow show g.json | head -1`: the pipe closes before the output is written.
    proc = subprocess.Popen([sys.executable, "-m", "pytest_callflow", "show", fibs[1]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=TESTS_DIR)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # long before the interpreter has started
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 141
    assert err == ""


def test_python_m_pytest_callflow_cli(fibs: Tuple[str, str]) -> None:
    done = command("-m", "pytest_callflow.cli", "diff", "--json", *fibs)
    assert done.returncode == 1 and json.loads(done.stdout)["verdict"] == "regressed"


def test_the_callflow_console_script() -> None:
    script = os.path.join(os.path.dirname(sys.executable), "callflow")
    if not os.path.isfile(script):
        pytest.skip("the callflow script is not installed here (an editable install made "
                    "before [project.scripts] had it: reinstall)")
    done = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0
    for name in cli.COMMANDS:
        assert name in done.stdout
