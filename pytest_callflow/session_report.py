"""The controller's side of a ``--callflow`` session: per-test results as
they arrive (from this process or from xdist workers), unused baselines,
writing baselines (``--callflow-update``), ``--callflow-json`` and the
terminal summary."""

import json
import os
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Set, Tuple

from . import baseline as store_mod
from . import hashseed

if TYPE_CHECKING:
    from .settings import Settings

Result = Dict[str, Any]

SESSION_SCHEMA = "callflow-session/1"

# How many tests each summary list shows before "... and N more".
_SHOWN = 20


def write_leaks_json(path: str, python: str, leaks: Dict[str, Result]) -> Optional[str]:
    """--callflow-json of a session checked for leaks without the call-flow
    gate: the same document with no traced tests; an error text or None."""
    return _write_session_json(path, {"schema": SESSION_SCHEMA, "python": python, "tests": {},
                                      "unused": [], "updated": [], "errors": [],
                                      "leaks": leaks})


def _write_session_json(path: str, doc: Dict[str, Any]) -> Optional[str]:
    """Write a --callflow-json document; an error text or None."""
    try:
        store_mod.write_atomic(path, json.dumps(doc, indent=1, sort_keys=True,
                                                ensure_ascii=False) + "\n")
    except OSError as exc:
        return f"cannot write --callflow-json {path}: {exc.strerror or exc}"
    return None


class SessionResults:
    def __init__(self, settings: "Settings", store: store_mod.Store, python: str) -> None:
        self.settings = settings
        self.store = store
        self.python = python
        self.results: Dict[str, Result] = {}      # node id -> result
        self.collection_incomplete = False        # an xdist worker did not report
        self.workers_reported = 0
        self.unused: List[Tuple[str, Optional[List[str]]]] = []  # (file, keys or None = all)
        self.written: List[Tuple[str, str]] = []  # (file, what changed)
        self.refused: List[str] = []              # files left alone: unreadable
        self.failed_writes: List[str] = []        # error texts
        self.leaks: Dict[str, Result] = {}        # node id -> leak verdict (leaks.py)
        self.html_written: Optional[str] = None   # --callflow-html, once written

    def add(self, nodeid: str, result: Result) -> None:
        self.results[nodeid] = result

    # -- session end ---------------------------------------------------------

    def finish(self, modules: Set[str], tests: Set[Tuple[str, str]], partial: Set[str]) -> None:
        stale = self._find_unused(modules, tests, partial)
        if self.settings.update:
            self._update(stale)
        if self.settings.json_path:
            self._write_json()
        if getattr(self.settings, "html_path", None):  # the unittest runner has none
            self._write_html()

    def _rel(self, path: str) -> str:
        return store_mod.to_posix(os.path.relpath(path, self.settings.rootdir))

    def _find_unused(self, modules: Set[str], tests: Set[Tuple[str, str]],
                     partial: Set[str]) -> Dict[str, Optional[Set[str]]]:
        """module -> unused keys (None: the whole file, its module is gone).
        A key is unused only when its module was collected completely and
        the key was not collected (deselected tests count as collected)."""
        by_module: Dict[str, Set[str]] = {}
        for module, key in tests:
            by_module.setdefault(module, set()).add(key)
        stale: Dict[str, Optional[Set[str]]] = {}
        for module in self.store.modules():
            if not self.store.module_exists(module):
                stale[module] = None
                continue
            if self.collection_incomplete or module not in modules or module in partial:
                continue
            bfile, error = self.store.get(module)
            if bfile is None or error is not None:
                continue
            unused = set(bfile.tests) - by_module.get(module, set())
            if unused:
                stale[module] = unused
        for module, keys in sorted(stale.items()):
            self.unused.append((self._rel(self.store.path_of(module)),
                                sorted(keys) if keys is not None else None))
        return stale

    def _update(self, stale: Dict[str, Optional[Set[str]]]) -> None:
        recorded: Dict[str, Dict[str, store_mod.Entry]] = {}
        timed: Dict[str, Dict[str, store_mod.Times]] = {}
        for result in self.results.values():
            module, entry = result.get("module"), result.get("entry")
            if module is None or entry is None:
                continue
            recorded.setdefault(module, {})[result["key"]] = entry
            if result.get("times"):
                timed.setdefault(module, {})[result["key"]] = result["times"]
        writes: Dict[str, str] = {}
        removals: List[str] = []
        changes: List[Tuple[str, str]] = []
        for module in sorted(set(recorded) | set(stale)):
            path = self.store.path_of(module)
            keys = stale.get(module, set())
            if module in stale and keys is None:
                removals.append(path)
                changes.append((self._rel(path), "removed (its test module is gone)"))
                continue
            old, error = self.store.get(module)
            if error is not None:
                self.refused.append(error)
                continue
            new = store_mod.merge_module(old, path, self.python, recorded=recorded.get(module, {}),
                                         timed=timed.get(module, {}), stale=keys or set())
            what = _describe_change(old, new)
            if not new.tests:
                if old is not None:
                    removals.append(path)
                    changes.append((self._rel(path), "removed (no tests left)"))
                continue
            text = new.render()
            if old is not None and text == old.text:
                continue
            writes[path] = text
            changes.append((self._rel(path), what))
        try:
            store_mod.commit(writes, removals)
        except OSError as exc:
            self.failed_writes.append(f"{exc.strerror or exc}; no baseline file was changed")
            return
        self.written = changes
        for module in set(recorded) | set(stale):
            self.store.forget(module)

    def _write_json(self) -> None:
        tests = {}
        for nodeid in sorted(self.results):
            r = self.results[nodeid]
            tests[nodeid] = {k: r[k] for k in ("verdict", "outcome", "findings", "notes",
                                                "total_calls", "time")}
            if "async" in r:  # tests that ran asyncio tasks
                tests[nodeid]["async"] = r["async"]
        doc = {
            "schema": SESSION_SCHEMA,
            "python": self.python,
            "baseline_dir": self._rel(self.settings.directory),
            "tests": tests,
            "unused": [{"file": f, "tests": keys} for f, keys in self.unused],
            "updated": [{"file": f, "change": what} for f, what in self.written],
            "errors": self.refused + self.failed_writes,
            "leaks": self.leaks,
        }
        path = self.settings.json_path
        assert path is not None
        error = _write_session_json(path, doc)
        if error is not None:
            self.failed_writes.append(error)

    def _write_html(self) -> None:
        from .html import write_session_report  # only when the report is asked for

        path = getattr(self.settings, "html_path", None)
        assert path is not None
        try:
            self.html_written = write_session_report(path, self.results, leaks=self.leaks,
                                                     python=self.python)
        except OSError as exc:
            self.failed_writes.append(f"cannot write --callflow-html {path}: "
                                      f"{exc.strerror or exc}")

    # -- terminal summary ------------------------------------------------------

    def summary(self, line: Callable[..., None], sep: Callable[..., None], *,
                verbose: bool) -> None:
        by_verdict: Dict[str, List[str]] = {}
        for nodeid in sorted(self.results):
            by_verdict.setdefault(self.results[nodeid]["verdict"], []).append(nodeid)
        sep("=", "callflow")
        counts = ", ".join(f"{len(by_verdict[v])} {v}" for v in
                           ("regressed", "error", "warning", "improved", "new", "passed")
                           if v in by_verdict)
        n = len(self.results)
        line(f"{n} test{'' if n == 1 else 's'} traced ({counts or 'none'}); baselines in "
             f"{self._rel(self.settings.directory)}/, Python {self.python}")
        if hashseed.seed_is_random():
            line("the hash seed is random in this run (started from another program, which "
                 "cannot be restarted): calls that depend on the order of a set of strings may "
                 "differ from their baselines; set PYTHONHASHSEED (e.g. 0)",
                 yellow=True)
        self._errors(line, by_verdict.get("error", []))
        self._list(line, by_verdict, "regressed", "regressions", red=True)
        self._list(line, by_verdict, "warning", "warnings (not failing)", yellow=True)
        self._list(line, by_verdict, "improved",
                   "improvements: record them with --callflow-update", green=True)
        if "new" in by_verdict:
            if self.settings.update:
                kept = [n for n in by_verdict["new"] if self.results[n].get("entry") is not None]
                left = [n for n in by_verdict["new"] if n not in kept]
                if kept:
                    line("new tests (baselines recorded):" if not self.failed_writes
                         else "new tests (not recorded: writing failed):", bold=True)
                    self._names(line, kept)
                if left:
                    line("new tests without a baseline (they did not pass, so none was "
                         "recorded):", yellow=True)
                    self._names(line, left)
            else:
                line("new tests (no baseline yet; record with --callflow-update):", bold=True)
                self._names(line, by_verdict["new"])
        if self.unused:
            action = "removed" if self.settings.update else "--callflow-update removes them"
            line(f"unused baselines ({action}):", yellow=True)
            for file, keys in self.unused:
                if keys is None:
                    line(f"  {file}: its test module no longer exists")
                else:
                    line(f"  {file}: {', '.join(keys)}")
        for file, what in self.written:
            line(f"updated {file}: {what}", green=True)
        if self.settings.update and not self.written and not self.failed_writes:
            line("baselines up to date: nothing to write")
        for text in self.refused:
            line(f"not updated (the file is unreadable and left as it is): {text}", red=True)
        for text in self.failed_writes:
            line(f"callflow error: {text}", red=True)
        if self.html_written:
            line(f"HTML report: {self.html_written}")
        if verbose and self.results:
            line("calls per test:", bold=True)
            for nodeid in sorted(self.results):
                r = self.results[nodeid]
                line(f"  {r['total_calls']:>9} calls {r['time'] * 1000:10.3f} ms  "
                     f"{r['verdict']:<9} {nodeid}")

    def _list(self, line: Callable[..., None], by_verdict: Dict[str, List[str]], verdict: str,
              title: str, **markup: bool) -> None:
        nodeids = by_verdict.get(verdict)
        if not nodeids:
            return
        line(f"{title}:", **markup)
        for nodeid in nodeids[:_SHOWN]:
            r = self.results[nodeid]
            line(f"  {nodeid}")
            shown = [f for f in r["findings"] if f["verdict"] != "note"] or r["findings"]
            for f in shown[:3]:
                line(f"      {f['message']}")
            if len(shown) > 3:
                more = len(shown) - 3
                line(f"      ... {more} more finding{'' if more == 1 else 's'}")
            if verdict == "warning":
                for note in r["notes"][:1]:
                    line(f"      ({note})")
        if len(nodeids) > _SHOWN:
            line(f"  ... and {len(nodeids) - _SHOWN} more")

    def _errors(self, line: Callable[..., None], nodeids: List[str]) -> None:
        """Unusable baselines, once per file, with the tests they failed."""
        by_error: Dict[str, List[str]] = {}
        for nodeid in nodeids:
            notes = self.results[nodeid]["notes"]
            by_error.setdefault(notes[0] if notes else "unusable baseline", []).append(nodeid)
        for error, failed in sorted(by_error.items()):
            line(f"unusable baseline: {error}", red=True)
            line(f"  {len(failed)} test{'' if len(failed) == 1 else 's'} failed for it:")
            self._names(line, failed, indent="    ")

    def _names(self, line: Callable[..., None], nodeids: List[str], indent: str = "  ") -> None:
        for nodeid in nodeids[:_SHOWN]:
            line(f"{indent}{nodeid}")
        if len(nodeids) > _SHOWN:
            line(f"{indent}... and {len(nodeids) - _SHOWN} more")


def _describe_change(old: Optional[store_mod.BaselineFile], new: store_mod.BaselineFile) -> str:
    if old is None:
        n = len(new.tests)
        return f"new file, {n} test{'' if n == 1 else 's'}"
    added = sorted(set(new.tests) - set(old.tests))
    removed = sorted(set(old.tests) - set(new.tests))
    changed = sorted(k for k in set(new.tests) & set(old.tests) if new.tests[k] != old.tests[k])
    parts = []
    if changed:
        parts.append(f"{len(changed)} changed")
    if added:
        parts.append(f"{len(added)} new")
    if removed:
        parts.append(f"{len(removed)} removed")
    if new.python != old.python:
        parts.append(f"Python {old.python} -> {new.python}")
    if not parts and new.times != old.times:
        parts.append("times")
    return ", ".join(parts) or "rewritten"
