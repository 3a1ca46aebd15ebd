"""Keeping the interpreter steady between the runs of a leak check: the
caches it fills by itself are cleared and garbage collected after each run,
and what per-call fixtures keep is rewound before each repeat."""

import abc
import gc
import linecache
import logging
import re
import sys
from typing import Any, Dict, Iterable, List, Tuple

import pytest


def abc_classes() -> List[type]:
    """Classes with abc caches (walked once per checked test)."""
    found, seen, todo = [], set(), [object]
    while todo:
        cls = todo.pop()
        try:
            subs = type.__subclasses__(cls)
        except TypeError:
            continue
        for sub in subs:
            if id(sub) not in seen:
                seen.add(id(sub))
                todo.append(sub)
                if isinstance(sub, abc.ABCMeta):
                    found.append(sub)
    return found


def _clear_caches(abcs: Iterable[type]) -> None:
    """Caches the interpreter fills by itself (functools caches are the
    test's own and are left alone)."""
    sys._clear_type_cache()
    reset = getattr(abc, "_reset_caches", None)
    if reset is not None:
        for cls in abcs:
            try:
                reset(cls)
            except TypeError:
                pass
    typing_mod = sys.modules.get("typing")
    for clear in list(getattr(typing_mod, "_cleanups", ())):
        clear()
    re.purge()
    linecache.clearcache()


def settle(abcs: Iterable[type]) -> None:
    _clear_caches(abcs)
    for _ in range(4):  # objects freed by a finalizer may free more
        if gc.collect() == 0:
            break


class FixtureRewind:
    """Rewinds what per-call fixtures keep before each repeat, so a repeat
    sees what the real call saw and nothing piles up because fixtures are
    set up once: monkeypatch entries made by the call are undone, recorded
    warnings, pytest's log handlers and captured output are reset."""

    def __init__(self, item: pytest.Item) -> None:
        funcargs = getattr(item, "funcargs", {}) or {}
        self.monkeypatch = funcargs.get("monkeypatch")
        self.recwarn = funcargs.get("recwarn")
        self.capture = [funcargs[n] for n in ("capsys", "capfd", "capsysbinary", "capfdbinary")
                        if n in funcargs]
        self.mp_marks = self._mp_marks()
        # pytest's LogCaptureHandlers (caplog's and the report's): records and text
        self.handlers = [h for h in logging.getLogger().handlers
                         if isinstance(getattr(h, "records", None), list)
                         and hasattr(getattr(h, "stream", None), "truncate")]
        self.start = [self._log_state(h) for h in self.handlers]
        self.after_first: List[Tuple[List[Any], str]] = []

    @staticmethod
    def _log_state(h: Any) -> Tuple[List[Any], str]:
        return list(h.records), h.stream.getvalue()

    @staticmethod
    def _set_log_state(h: Any, state: Tuple[List[Any], str]) -> None:
        h.records[:] = state[0]
        h.stream.seek(0)
        h.stream.truncate()
        h.stream.write(state[1])

    def _mp_marks(self) -> Dict[str, int]:
        mp = self.monkeypatch
        return {k: len(getattr(mp, k)) for k in ("_setattr", "_setitem")
                if isinstance(getattr(mp, k, None), list)}

    def first_done(self) -> None:
        self.after_first = [self._log_state(h) for h in self.handlers]

    def before_repeat(self) -> None:
        self._undo_monkeypatch()
        if self.recwarn is not None:
            self.recwarn.clear()
        for cap in self.capture:
            cap.readouterr()
        for h, state in zip(self.handlers, self.start):
            self._set_log_state(h, state)

    def finish(self) -> None:
        self._undo_monkeypatch()
        for h, state in zip(self.handlers, self.after_first):
            self._set_log_state(h, state)

    def _undo_monkeypatch(self) -> None:
        # Undo, newest first, the entries the last run added (MonkeyPatch.undo
        # would also undo what the fixtures patched before the test).
        mp = self.monkeypatch
        if mp is None:
            return
        module = sys.modules.get("_pytest.monkeypatch")
        notset = getattr(module, "NOTSET", getattr(module, "notset", object()))
        entries = getattr(mp, "_setattr", [])
        keep = self.mp_marks.get("_setattr", len(entries))
        for obj, name, value in reversed(entries[keep:]):
            if value is not notset:
                setattr(obj, name, value)
            else:
                delattr(obj, name)
        del entries[keep:]
        entries = getattr(mp, "_setitem", [])
        keep = self.mp_marks.get("_setitem", len(entries))
        for dictionary, key, value in reversed(entries[keep:]):
            if value is notset:
                dictionary.pop(key, None)
            else:
                dictionary[key] = value
        del entries[keep:]
