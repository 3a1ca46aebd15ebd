"""Helpers of the plugin suite (tests/test_plugin_*.py).

A ``Project`` is a small sample project written into a ``pytester``
directory: the package ``shop`` (code with known call counts), test modules
using it, a pytest.ini.  It runs pytest on itself (in-process by default,
as a subprocess where isolation matters) and reads what the plugin leaves
behind: baseline files under ``.callflow/``, JSON results, JUnit XML.

The sample tests are text, not files under tests/, so the outer suite never
collects them."""

import importlib
import importlib.util
import json
import os
import re
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

import pytest

# Findings print "before → after"; "->" is accepted too.
ARROW = r"\s*(?:→|->)\s*"

PY_MINOR = "{}.{}".format(*sys.version_info[:2])

CART = """
REPEAT = {repeat}


def price(item):
    return item * 2


class Cart:
    def __init__(self, items):
        self.items = items

    def total(self):
        t = 0
        for item in self.items:
            for _ in range(REPEAT):
                t += price(item)
        return t
"""

# test_total calls shop.cart:price `items` times per REPEAT; test_other
# calls it once whatever REPEAT is.
TEST_CART = """
import pytest

from shop import cart


{marker}
def test_total():
    assert cart.Cart(range({items})).total() == sum(range({items})) * 2 * cart.REPEAT


def test_other():
    assert cart.price(1) == 2
"""


class Project:
    """A sample project in ``pytester.path`` (the rootdir of its runs), or
    in ``root``: then chdir there before running."""

    def __init__(self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                 root: Optional[Path] = None) -> None:
        self.pytester = pytester
        self.root: Path = root if root is not None else pytester.path
        # Sources are rewritten within one second, often with the same size
        # (REPEAT = 1 -> 3): a cached .pyc would hide the change.
        monkeypatch.setattr(sys, "dont_write_bytecode", True)
        monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
        self.ini()

    # -- writing ------------------------------------------------------------

    def write(self, relpath: str, text: str) -> Path:
        path = self.root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        importlib.invalidate_caches()
        return path

    def ini(self, *lines: str) -> None:
        """pytest.ini: the rootdir is here and ``shop`` is importable from
        test modules in subdirectories too.  (An editable install's loader
        module is imported before pytest could rewrite it: that warning is
        not ours to see.)"""
        head: Tuple[str, ...] = (
            "[pytest]", "pythonpath = .",
            "filterwarnings = ignore:Module already imported:pytest.PytestAssertRewriteWarning")
        if importlib.util.find_spec("pytest_asyncio") is not None:
            head += ("asyncio_default_fixture_loop_scope = function",)
        body = "\n".join(head + lines)
        self.write("pytest.ini", body + "\n")

    def shop(self, repeat: int = 1) -> None:
        self.write("shop/__init__.py", "")
        self.write("shop/cart.py", CART.format(repeat=repeat))

    def cart_tests(self, items: int = 10, marker: str = "", name: str = "test_cart.py") -> None:
        self.write(name, TEST_CART.format(items=items, marker=marker))

    def cart_project(self, repeat: int = 1, items: int = 10, marker: str = "") -> None:
        self.shop(repeat)
        self.cart_tests(items, marker)

    def regressed_with_new_test(self) -> None:
        """Baselines written, then test_cart.py::test_total regressed (10 ->
        30 calls of shop.cart:price) and a new test whose id holds markup."""
        self.cart_project(repeat=1)
        self.update()
        self.shop(repeat=3)
        self.write("test_new.py", """
            import pytest
            from shop.cart import price


            @pytest.mark.parametrize("name", ["<script>window.__pwned=1</script>"])
            def test_fresh(name):
                assert price(2) == 4
        """)

    # -- running ------------------------------------------------------------

    def run(self, *args: str) -> pytest.RunResult:
        """pytest in this process (fast; ``result.reprec`` has the reports)."""
        return self.pytester.runpytest("-p", "no:cacheprovider", *args)

    def run_subprocess(self, *args: str, timeout: float = 120) -> pytest.RunResult:
        return self.pytester.runpytest_subprocess("-p", "no:cacheprovider", *args,
                                                  timeout=timeout)

    def update(self, *args: str) -> pytest.RunResult:
        """Write baselines; the run itself must succeed."""
        result = self.run("--callflow", "--callflow-update", *args)
        assert result.ret == 0, text(result)
        return result

    # -- reading ------------------------------------------------------------

    def baseline_path(self, module: str = "test_cart.py", directory: str = ".callflow") -> Path:
        return self.root / directory / (module + ".json")

    def baseline(self, module: str = "test_cart.py", directory: str = ".callflow") -> Dict[str, Any]:
        path = self.baseline_path(module, directory)
        assert path.is_file(), f"no baseline file {path}; files: {sorted(self.files())}"
        return json.loads(path.read_text(encoding="utf-8"))

    def entry(self, key: str, module: str = "test_cart.py") -> Dict[str, Any]:
        tests = self.baseline(module)["tests"]
        assert key in tests, f"no entry {key!r} in {module}.json; entries: {sorted(tests)}"
        return tests[key]

    def files(self, under: str = "") -> Dict[str, bytes]:
        """Every file below ``under`` (relative path -> bytes), caches and
        pytester's own temporary directories left out."""
        base = self.root / under
        found: Dict[str, bytes] = {}
        if not base.exists():
            return found
        if base.is_file():
            return {under: base.read_bytes()}
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if d not in ("__pycache__", ".pytest_cache")
                           and not d.startswith("runpytest-")]
            for name in filenames:
                path = Path(dirpath) / name
                found[path.relative_to(self.root).as_posix()] = path.read_bytes()
        return found


def strays(entry: Dict[str, Any], own: Iterable[str] = ("shop",)) -> List[str]:
    """Functions of a baseline entry that are neither the project's own
    (packages ``own``, test modules) nor called by the project's own code:
    in project scope outside code is only ever a leaf under project code,
    so pytest's, pluggy's or an async runner's frames around the test must
    not appear (they would tie baselines to the runner and its version)."""
    own = tuple(own)

    def is_own(name: str) -> bool:
        module = name.split(":", 1)[0]
        top, last = module.split(".")[0], module.rsplit(".", 1)[-1]
        return top in own or last.startswith("test_") or top == "tests"

    called_by_own = {callee for caller, callees in entry["edges"].items() if is_own(caller)
                     for callee in callees}
    return sorted(name for name in entry["calls"] if not is_own(name) and name not in called_by_own)


def text(result: pytest.RunResult) -> str:
    """Everything a run printed, the project's directory (the current one,
    named after the outer test) written as <root>: checks that a name is
    absent must not trip over the directory's name."""
    out = "\n".join(result.outlines + result.errlines)
    return out.replace(os.getcwd(), "<root>")


def lines_with(result: pytest.RunResult, *needles: str) -> List[str]:
    return [line for line in text(result).splitlines() if all(n in line for n in needles)]


def outcomes_by_id(result: pytest.RunResult) -> Dict[str, str]:
    """nodeid -> passed/failed/skipped/error, from the -rA short summary
    (the run must have been made with -rA); works for subprocess runs."""
    found: Dict[str, str] = {}
    for line in result.outlines:
        match = re.match(r"^(PASSED|FAILED|SKIPPED|ERROR|XFAIL|XPASS) (\S+)", line)
        if match and "::" in match.group(2):
            found[match.group(2)] = match.group(1).lower()
    return found


def failed_ids(result: pytest.RunResult) -> Set[str]:
    """Node ids of failed tests of an in-process run."""
    passed, skipped, failed = result.reprec.listoutcomes()  # type: ignore[attr-defined]
    return {rep.nodeid for rep in failed}


def failure_block(result: pytest.RunResult, test_name: str) -> str:
    """The FAILURES section of one test: from its "___ name ___" header to
    the next header or the short summary."""
    out = result.outlines
    start = None
    for i, line in enumerate(out):
        if re.match(r"^_{3,} .*\b" + re.escape(test_name) + r"\b.* _{3,}$", line):
            start = i
            break
    assert start is not None, f"no failure section for {test_name}:\n" + "\n".join(out)
    end = len(out)
    for j in range(start + 1, len(out)):
        if re.match(r"^(_{3,} .* _{3,}|={3,} .* ={3,})$", out[j]):
            end = j
            break
    return "\n".join(out[start:end])


def json_record(doc: Any, nodeid: str) -> Dict[str, Any]:
    """The per-test record of ``nodeid`` in a --callflow-json document: a
    mapping keyed by the node id, or an object naming it, found anywhere."""
    found = _find_record(doc, nodeid)
    assert found is not None, f"{nodeid} not in the JSON result: {json.dumps(doc)[:2000]}"
    return found


def _find_record(doc: Any, nodeid: str) -> Optional[Dict[str, Any]]:
    if isinstance(doc, dict):
        value = doc.get(nodeid)
        if isinstance(value, dict):
            return value
        if nodeid in doc.values() and "verdict" in doc:
            return doc
        children: Iterable[Any] = doc.values()
    elif isinstance(doc, list):
        children = doc
    else:
        return None
    for child in children:
        found = _find_record(child, nodeid)
        if found is not None:
            return found
    return None
