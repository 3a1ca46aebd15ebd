"""pytest --callflow-leaks and @pytest.mark.callflow_leaks: known leaks are
found and named (type, growth per run, allocation site, holder), known
non-leaks are not flagged, the marker works alone and is validated, and
verdicts reach the summary and --callflow-json, also under xdist."""

import importlib.util
import json
import re
import sys
import weakref
from typing import Any, Dict

import pytest

LEAKY = '''
import asyncio
import gc
import threading


class Handler:
    pass


class Entry:
    pass


_HANDLERS = []


def test_module_global_list():
    _HANDLERS.append(Handler())


class Cache:
    items = {}


def test_class_attribute_cache():
    Cache.items[len(Cache.items)] = Entry()


def _make_adder():
    held = []

    def add():
        held.append(Handler())
    return add


_add = _make_adder()


def test_closure():
    _add()


_GRAVE = []


class Phoenix:
    """In a cycle; its finalizer resurrects it into a global list."""

    def __init__(self):
        self.me = self

    def __del__(self):
        _GRAVE.append(self)


def test_cycle_through_del():
    Phoenix()


def test_thread_left_running():
    stop = threading.Event()
    threading.Thread(target=stop.wait, name="stuck-worker", daemon=True).start()


_LOOPS = []


def test_task_left_pending():
    loop = asyncio.new_event_loop()
    _LOOPS.append(loop)

    async def forever():
        await asyncio.sleep(3600)

    loop.create_task(forever(), name="lost-task")


def test_uncollectable_garbage():
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        a = []
        a.append(a)
        del a
        gc.collect()
    finally:
        gc.set_debug(0)
'''

CLEAN = '''
import functools
import json
import gc
import sys
import threading
import asyncio
import logging
import warnings


class Entry:
    pass


@functools.lru_cache(maxsize=None)
def lookup(key):
    return Entry()


def test_warm_lru_cache():
    for key in range(200):
        lookup(key)


def test_interned_strings():
    names = [sys.intern("name-%d" % i) for i in range(100)]
    assert len(set(names)) == 100


def test_one_off_import():
    import colorsys  # imported on the first run only
    assert colorsys.rgb_to_hsv(0, 0, 0)[2] == 0


class Node:
    def __init__(self):
        self.other = None


def test_objects_freed_late_by_a_cycle():
    for _ in range(100):
        a, b = Node(), Node()
        a.other, b.other = b, a  # freed only by the collector


def test_thread_joined():
    t = threading.Thread(target=lambda: None, name="short")
    t.start()
    t.join()


def test_asyncio_run():
    async def work():
        await asyncio.sleep(0)
        return 3
    assert asyncio.run(work()) == 3


def test_fixtures_that_record(monkeypatch, caplog, recwarn, capsys):
    monkeypatch.setattr(sys, "callflow_probe", 1, raising=False)
    monkeypatch.setenv("CALLFLOW_PROBE", "1")
    logging.getLogger("probe").warning("hello")
    warnings.warn("old", DeprecationWarning)
    print("out")
    assert len(caplog.records) == 1
    assert len(recwarn) == 1
    assert capsys.readouterr().out == "out\\n"


def test_json_round_trip():
    assert json.loads(json.dumps({"a": [1, 2.5, "x"]}))["a"][2] == "x"
'''


def _run(pytester: pytest.Pytester, *args: str) -> Any:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:asyncio", *args)


def _leaks(pytester: pytest.Pytester, name: str = "out.json") -> Dict[str, Any]:
    with open(pytester.path / name, encoding="utf-8") as f:
        return json.load(f)["leaks"]


def test_known_leaks_are_found_and_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_leaky=LEAKY)
    result = _run(pytester, "--callflow-leaks", "--callflow-json=out.json", "-rA")
    leaks = _leaks(pytester)
    assert set(leaks) == {f"test_leaky.py::{n}" for n in re.findall(r"^def (test_\w+)", LEAKY,
                                                                     re.M)}
    assert {n: v["verdict"] for n, v in leaks.items()} == {n: "leaked" for n in leaks}
    assert all(v["outcome"] == "failed" for v in leaks.values())
    out = result.stdout.str()
    result.assert_outcomes(failed=len(leaks))

    def first(test: str, type_name: str) -> Dict[str, Any]:
        entries = {e["type"]: e for e in leaks[f"test_leaky.py::{test}"]["leaks"]}
        return entries[type_name]

    h = first("test_module_global_list", "test_leaky.Handler")
    assert h["count_growth"] == [1, 1, 1, 1, 1]
    assert h["chain"] == "test_leaky._HANDLERS (module global) → list → Handler"
    # 3.11 finds no traceback of objects with a __dict__: there the site is
    # the line that left most traced memory behind (with its size)
    assert re.search(r"test_leaky\.py:\d+: _HANDLERS\.append\(Handler\(\)\)( \(.*\))?$",
                     h["site"])
    if sys.version_info[:2] == (3, 11):  # and says so
        assert h["site_fallback"].startswith("the line that left the most traced memory")
        assert "3.11's tracemalloc has no traceback of objects with a __dict__" in out
    else:
        assert "site_fallback" not in h
    assert "test_leaky.Handler: +1 per run over 5 runs" in out

    e = first("test_class_attribute_cache", "test_leaky.Entry")
    assert e["chain"].startswith("test_leaky.Cache.items (class attribute) → ")
    assert e["chain"].endswith("Entry")
    c = first("test_closure", "test_leaky.Handler")
    assert c["chain"] == "test_leaky._make_adder.<locals>.add 'held' (closure cell) → list → Handler"
    p = first("test_cycle_through_del", "test_leaky.Phoenix")
    assert p["count_growth"] == [1] * 5
    assert p["chain"].startswith("test_leaky._GRAVE (module global) → list")

    threads = leaks["test_leaky.py::test_thread_left_running"]["threads"]
    assert threads and all(t == "stuck-worker (daemon)" for t in threads)
    assert "thread left running: stuck-worker (daemon)" in out
    tasks = leaks["test_leaky.py::test_task_left_pending"]["tasks"]
    assert tasks and all(t.startswith("lost-task (") for t in tasks)
    assert "asyncio task left pending: lost-task" in out
    garbage = leaks["test_leaky.py::test_uncollectable_garbage"]["garbage"]
    assert garbage["count"] >= 5 and "builtins.list" in garbage["types"]
    # the report section and the terminal summary
    assert "callflow-leaks" in out
    assert f"{len(leaks)} tests checked for leaks: {len(leaks)} leaking" in out
    # The failure itself is one line naming the first leak (the short
    # summary shows it); the details are in the test's section, once, and
    # in the terminal summary.
    assert ("callflow-leaks: leaks found: test_leaky.Handler: +1 per run over 5 runs; "
            "see the callflow-leaks section") in out
    assert out.count("held by test_leaky._HANDLERS (module global) → list → Handler") == 2, out


def test_known_non_leaks_are_not_flagged(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_clean=CLEAN)
    result = _run(pytester, "--callflow-leaks", "--callflow-json=out.json")
    leaks = _leaks(pytester)
    n = len(re.findall(r"^def test_", CLEAN, re.M))
    assert {v["verdict"] for v in leaks.values()} == {"clean"}, json.dumps(leaks, indent=1)
    assert len(leaks) == n
    result.assert_outcomes(passed=n)
    assert f"{n} tests checked for leaks: 0 leaking" in result.stdout.str()


def test_marker_without_the_flag_and_own_failure_kept(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_marked='''
import pytest

_KEPT = []


class Item:
    pass


@pytest.mark.callflow_leaks(runs=3, warmup=1)
def test_marked_leak():
    _KEPT.append(Item())


def test_unmarked_leak():
    _KEPT.append(Item())


@pytest.mark.callflow_leaks(ignore_types=[Item])
def test_ignored():
    _KEPT.append(Item())


@pytest.mark.callflow_leaks(runs=2)
def test_fails_and_leaks():
    _KEPT.append(Item())
    assert False, "own failure"


_SEEN = []


@pytest.mark.callflow_leaks
def test_fails_on_a_repeat():
    _SEEN.append(1)
    assert len(_SEEN) < 3, "third run"
''')
    result = _run(pytester, "--callflow-json=out.json")
    leaks = _leaks(pytester)
    assert set(leaks) == {"test_marked.py::test_marked_leak", "test_marked.py::test_ignored",
                          "test_marked.py::test_fails_and_leaks",
                          "test_marked.py::test_fails_on_a_repeat"}
    marked = leaks["test_marked.py::test_marked_leak"]
    assert (marked["runs"], marked["warmup"], marked["verdict"]) == (3, 1, "leaked")
    assert marked["leaks"][0]["count_growth"] == [1, 1, 1]
    assert leaks["test_marked.py::test_ignored"]["verdict"] == "clean"
    own = leaks["test_marked.py::test_fails_and_leaks"]
    assert own["verdict"] == "unchecked" and own["outcome"] == "failed"
    repeat = leaks["test_marked.py::test_fails_on_a_repeat"]
    assert repeat["verdict"] == "failed"
    assert repeat["problems"][0].startswith("run 3 of 7 failed:")
    out = result.stdout.str()
    assert "AssertionError: own failure" in out
    assert "third run" in out
    result.assert_outcomes(passed=2, failed=3)


@pytest.mark.parametrize("marker, message", [
    ("callflow_leaks(rounds=3)", "unknown @pytest.mark.callflow_leaks argument rounds"),
    ("callflow_leaks(runs=0)", "runs=...) must be an integer >= 1"),
    ("callflow_leaks(3)", "keyword arguments only"),
    ("callflow_leaks(ignore_types=[1])", "ignore_types=...) takes type names or types"),
])
def test_wrong_marker_argument_is_a_collection_error(pytester: pytest.Pytester, marker: str,
                                                     message: str) -> None:
    pytester.makepyfile(test_bad=f'''
import pytest

@pytest.mark.{marker}
def test_x():
    pass
''')
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    assert "test_bad.py::test_x" in result.stdout.str()
    assert message in result.stdout.str()


def test_ini_defaults(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ncallflow_leaks_runs = 3\ncallflow_leaks_warmup = 1\n")
    pytester.makepyfile(test_ini='''
_KEPT = []

def test_leak():
    _KEPT.append(object.__new__(type("T", (), {})))
''')
    _run(pytester, "--callflow-leaks", "--callflow-json=out.json")
    verdict = _leaks(pytester)["test_ini.py::test_leak"]
    assert (verdict["runs"], verdict["warmup"]) == (3, 1)


def test_ini_max_growth_and_ignore_types(pytester: pytest.Pytester) -> None:
    # Growth of one object per run is within max_growth = 3; Ignored is never reported;
    # Big grows by six per run and still leaks.
    pytester.makeini("[pytest]\ncallflow_leaks_max_growth = 3\n"
                     "callflow_leaks_ignore_types =\n    test_ini2.Ignored\n")
    pytester.makepyfile(test_ini2='''
_KEPT = []

class Small: pass
class Ignored: pass
class Big: pass

def test_small():
    _KEPT.append(Small())

def test_ignored():
    _KEPT.extend(Ignored() for _ in range(10))

def test_big():
    _KEPT.extend(Big() for _ in range(6))
''')
    result = _run(pytester, "--callflow-leaks", "--callflow-json=out.json")
    result.assert_outcomes(passed=2, failed=1)
    leaks = _leaks(pytester)
    assert leaks["test_ini2.py::test_small"]["leaks"] == []
    assert leaks["test_ini2.py::test_ignored"]["leaks"] == []
    assert "test_ini2.Big" in [leak["type"] for leak in leaks["test_ini2.py::test_big"]["leaks"]]


def test_a_bad_ini_value_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ncallflow_leaks_max_growth = lots\n")
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = _run(pytester, "--callflow-leaks")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "callflow_leaks_max_growth" in result.stderr.str() + result.stdout.str()


def test_off_without_flag_or_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_off='''
_KEPT = []

def test_leak():
    _KEPT.append([])
''')
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "callflow-leaks" not in result.stdout.str()


@pytest.mark.skipif(importlib.util.find_spec("xdist") is None, reason="needs pytest-xdist")
def test_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_leaky=LEAKY.split("_GRAVE = []")[0], test_clean=CLEAN)
    result = _run(pytester, "-n", "2", "--callflow-leaks", "--callflow-json=out.json")
    leaks = _leaks(pytester)
    verdicts = {n: v["verdict"] for n, v in leaks.items()}
    assert {v for n, v in verdicts.items() if n.startswith("test_clean")} == {"clean"}
    assert {v for n, v in verdicts.items() if n.startswith("test_leaky")} == {"leaked"}
    h = leaks["test_leaky.py::test_module_global_list"]["leaks"][0]
    assert h["chain"] == "test_leaky._HANDLERS (module global) → list → Handler"
    out = result.stdout.str()
    assert f"{len(leaks)} tests checked for leaks: 3 leaking" in out
    assert "test_leaky.Handler: +1 per run over 5 runs" in out


def test_with_the_gate_the_json_holds_both(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_both='''
_KEPT = []

def test_leak():
    _KEPT.append([])
''')
    _run(pytester, "--callflow", "--callflow-leaks", "--callflow-json=out.json")
    with open(pytester.path / "out.json", encoding="utf-8") as f:
        doc = json.load(f)
    assert "test_both.py::test_leak" in doc["tests"]
    assert doc["leaks"]["test_both.py::test_leak"]["verdict"] == "leaked"


BUILTIN_LEAKS = '''
from pytest_callflow import trace_scope

def work():
    pass

with trace_scope() as GRAPH:
    work()

_KEPT = []
_BY_KEY = {}

def test_keeps_lists():
    _KEPT.append([len(_KEPT)])

def test_keeps_dicts():
    _BY_KEY[len(_BY_KEY)] = {"seen": [len(_BY_KEY)]}  # tracked: it holds a list

def test_keeps_lists_the_plugin_made():
    _KEPT.append(GRAPH.callees(work))

class Thing:
    pass

def test_keeps_things_in_lists():
    _KEPT.append([Thing(), [1], [2], [3]])

import collections
_RECENT = collections.deque(maxlen=300)  # bounded: full after the warm-up runs

def test_churns_and_leaks_things():
    for _ in range(150):
        _RECENT.append(Thing())
    _KEPT.append(Thing())
'''


def test_leaked_builtin_containers_are_named_with_site_and_holder(
        pytester: pytest.Pytester) -> None:
    # The runner makes (and keeps) lists and dicts of its own in every run:
    # the sample explained is one from the site that made the leaked ones,
    # and a site inside pytest_callflow (graph.callees) is the test's line
    # that asked for it.
    pytester.makepyfile(test_keeps=BUILTIN_LEAKS)
    _run(pytester, "--callflow-leaks", "--callflow-json=out.json")
    leaks = _leaks(pytester)

    def entry(test: str, type_name: str) -> Dict[str, Any]:
        (found,) = [e for e in leaks[f"test_keeps.py::{test}"]["leaks"] if e["type"] == type_name]
        return found

    lists = entry("test_keeps_lists", "builtins.list")
    assert lists["site"].endswith("test_keeps.py:13: _KEPT.append([len(_KEPT)])"), lists["site"]
    assert lists["chain"] == "test_keeps._KEPT (module global) → list → list"
    dicts = entry("test_keeps_dicts", "builtins.dict")
    assert dicts["site"].endswith('test_keeps.py:16: _BY_KEY[len(_BY_KEY)] = {"seen": [len(_BY_KEY)]}'
                                  "  # tracked: it holds a list"), dicts["site"]
    assert dicts["chain"].startswith("test_keeps._BY_KEY (module global) → dict")
    made = entry("test_keeps_lists_the_plugin_made", "builtins.list")
    assert made["site"].endswith("test_keeps.py:19: _KEPT.append(GRAPH.callees(work))"), made["site"]
    assert made["chain"] == "test_keeps._KEPT (module global) → list → list"
    # The program's own class is told first, then the builtin types, then
    # the pseudo figures.
    types = [e["type"] for e in leaks["test_keeps.py::test_keeps_things_in_lists"]["leaks"]]
    assert types[:2] == ["test_keeps.Thing", "builtins.list"], types
    assert entry("test_keeps_things_in_lists", "builtins.list")["count_growth"] == [4] * 5
    # 150 Things a run churn through a bounded deque, one leaks: the sample
    # is the leaked one (before 3.12 objects with a __dict__ have no
    # allocation traceback to tell the two sites apart).
    churned = entry("test_churns_and_leaks_things", "test_keeps.Thing")
    assert churned["count_growth"] == [1] * 5
    if sys.version_info >= (3, 12):
        assert churned["site"].endswith("test_keeps.py:33: _KEPT.append(Thing())"), churned["site"]
        assert churned["chain"] == "test_keeps._KEPT (module global) → list → Thing"


FIXTURES = '''
import pytest

_REGISTRY = []


class Thing:
    pass


@pytest.fixture
def bag():
    items = []
    yield items


@pytest.fixture
def box():
    return {"things": []}


@pytest.fixture
def registry():
    return _REGISTRY


@pytest.fixture(scope="session")
def shared():
    return []


class App:
    def __init__(self):
        self.config = {"seen": []}


@pytest.fixture(scope="session")
def app():
    return App()


@pytest.fixture
def client(app):
    return {"app": app, "config": app.config}


def test_appends_to_a_function_fixture(bag):
    bag.append(Thing())


def test_appends_inside_a_function_fixture(box):
    box["things"].append(Thing())


def test_fixture_returning_a_global(registry):
    registry.append(Thing())


def test_appends_to_a_session_fixture(shared):
    shared.append(Thing())


def test_fixture_and_global(bag):
    bag.append(Thing())
    _REGISTRY.append(Thing())


def test_function_fixture_into_a_session_one(client):
    client["config"]["seen"].append(Thing())
'''


def test_growth_only_function_fixtures_hold_is_not_a_leak(pytester: pytest.Pytester) -> None:
    """Fixtures are set up once for the repeats: what only a function-scoped
    fixture holds is freed at teardown, so it is set apart; a fixture that
    hands out a global or lives for the session is still a leak."""
    pytester.makepyfile(test_fixtures=FIXTURES)
    result = _run(pytester, "--callflow-leaks", "--callflow-json=out.json")
    result.assert_outcomes(passed=2, failed=4)
    assert ("6 tests checked for leaks: 4 leaking or failing on repeat (2 with growth only "
            "function-scoped fixtures hold: freed at teardown, not counted)") in result.stdout.str()
    verdicts = {n.split("::")[1]: v for n, v in _leaks(pytester).items()}
    for test, fixture in (("test_appends_to_a_function_fixture", "bag"),
                          ("test_appends_inside_a_function_fixture", "box")):
        assert verdicts[test]["verdict"] == "clean", verdicts[test]
        held = {h["type"]: h for h in verdicts[test]["fixture_held"]}
        thing = held["test_fixtures.Thing"]
        assert (thing["fixture"], thing["count_growth"]) == (fixture, [1] * 5)
        assert set(held) <= {"test_fixtures.Thing", "<allocated blocks>", "<traced memory>"}
    chain = "test_fixtures._REGISTRY (module global) → list → Thing"
    for test in ("test_fixture_returning_a_global", "test_fixture_and_global"):
        assert verdicts[test]["verdict"] == "leaked", verdicts[test]
        assert verdicts[test]["fixture_held"] == []
        assert verdicts[test]["leaks"][0]["chain"] == chain
    session = verdicts["test_appends_to_a_session_fixture"]
    assert session["verdict"] == "leaked"
    assert session["leaks"][0]["chain"] == "fixture 'shared' (session scope) → list → Thing"
    # reached through a function-scoped fixture, held by a session-scoped one
    through = verdicts["test_function_fixture_into_a_session_one"]
    assert through["verdict"] == "leaked" and through["fixture_held"] == []
    assert through["leaks"][0]["chain"].startswith("fixture 'app' (session scope) → ")


def test_tracemalloc_traces_the_measured_runs_only(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_tm='''
import tracemalloc

import pytest


@pytest.mark.callflow_leaks(runs=3, warmup=2)
def test_probe():
    with open("tracing.log", "a") as f:
        f.write("1" if tracemalloc.is_tracing() else "0")


def test_after():
    assert not tracemalloc.is_tracing()
''')
    result = _run(pytester)
    result.assert_outcomes(passed=2)
    assert (pytester.path / "tracing.log").read_text() == "00111"


def test_builtins_and_mocks_in_function_fixtures_are_not_leaks(pytester: pytest.Pytester) -> None:
    """Containers from free lists (no traceback of their own), untracked
    dicts and a Mock's call records: the region tally sees them all; an
    object the test also hands to a global is shared, so still a leak."""
    pytester.makepyfile(test_builtin_fixtures='''
from unittest import mock

import pytest

_ALSO = []


@pytest.fixture
def bag():
    return []


@pytest.fixture
def fake():
    return mock.Mock()


def test_lists(bag):
    bag.append([len(bag)])


def test_atomic_dicts(bag):
    bag.append({"n": len(bag)})


def test_tuples(bag):
    bag.append((len(bag), [1]))


def test_mock_calls(fake):
    fake.send("payload", retries=len(fake.mock_calls))


def test_shared_with_a_global(bag):
    item = [len(bag)]
    bag.append(item)
    _ALSO.append(item)


@pytest.fixture
def holder():
    return {"registry": _ALSO}


def test_through_a_fixture_into_a_global(holder):
    holder["registry"].append([1])
''')
    result = _run(pytester, "--callflow-leaks", "--callflow-json=out.json")
    verdicts = {n.split("::")[1]: v for n, v in _leaks(pytester).items()}
    for test in ("test_lists", "test_atomic_dicts", "test_tuples", "test_mock_calls"):
        assert verdicts[test]["verdict"] == "clean", verdicts[test]
        # (dicts of ints are no gc-tracked type; their blocks come from free
        # lists on some versions, so the census may see no growth at all)
        assert verdicts[test]["fixture_held"] or test == "test_atomic_dicts", verdicts[test]
    for test in ("test_shared_with_a_global", "test_through_a_fixture_into_a_global"):
        shared = verdicts[test]
        assert shared["verdict"] == "leaked" and shared["fixture_held"] == [], shared
        assert shared["leaks"][0]["type"] == "builtins.list"
    result.assert_outcomes(passed=4, failed=2)


_HELD = [{"held": "by a module global"}]


def test_the_walk_up_ends_where_the_holders_do() -> None:
    """An object held only by an unreachable cycle has no root: the walk of
    referrers ends and says so (False), on every version: since 3.13 the
    argument tuple a ``gc.get_referrers(*objs)`` call builds is a referrer
    too, and the walk must not climb that chain of its own tuples."""
    from pytest_callflow.leak_chain import referrer_chain
    from pytest_callflow.leak_fixtures import _held_outside_runner

    class Orphan:
        pass

    cycle: Dict[str, Any] = {"orphan": Orphan()}
    cycle["self"] = cycle
    orphan = weakref.ref(cycle["orphan"])  # no local of this frame holds it
    del cycle
    assert _held_outside_runner([orphan()], float("inf"), {}) is False
    assert referrer_chain(orphan(), budget_s=60.0) is None
    # the walk does find a root when there is one
    assert _held_outside_runner([_HELD[0]], float("inf"), {}) is True
    assert referrer_chain(_HELD[0], budget_s=60.0) == \
        f"{__name__}._HELD (module global) → list → dict"


def test_runner_files_are_the_installed_packages_not_folders_of_that_name(tmp_path: Any) -> None:
    # A checkout of xdist (or of this plugin) is the user's code, not the runner.
    import _pytest
    import pluggy

    import pytest_callflow
    from pytest_callflow.leak_chain import is_runner_file

    assert all(is_runner_file(m.__file__) for m in (_pytest, pluggy, pytest_callflow))
    assert not is_runner_file(str(tmp_path / "xdist" / "plugin.py"))
    assert not is_runner_file(str(tmp_path / "src" / "pytest_callflow" / "scope.py"))
