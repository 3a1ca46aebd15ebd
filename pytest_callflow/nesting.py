"""The innermost of nested scopes, kept in a context variable (so that
concurrent asyncio tasks each see their own), for scopes that may end out
of order: entered and left by hand, or left in another context than the
one they were entered in (a generator finished elsewhere, a task that
copied the context).

Resetting a context variable by token gives back the value seen at entry,
which may be a scope that has ended since; here every level remembers the
one around it, and what is innermost is always the nearest level still
open."""

import contextvars
from typing import Generic, Iterator, Optional, TypeVar

T = TypeVar("T")


class Level(Generic[T]):
    """One entered scope: its value, and the level that was innermost when
    it was entered."""

    __slots__ = ("value", "outer", "open")

    def __init__(self, value: T, outer: "Optional[Level[T]]") -> None:
        self.value: Optional[T] = value
        self.outer = outer
        self.open = True


class Nesting(Generic[T]):
    def __init__(self, name: str) -> None:
        self._var: "contextvars.ContextVar[Optional[Level[T]]]" = contextvars.ContextVar(
            name, default=None)

    def enter(self, value: T) -> Level[T]:
        level = Level(value, self._var.get())
        self._var.set(level)
        return level

    def leave(self, level: Optional[Level[T]]) -> None:
        """level has ended.  When it is the innermost here, the nearest open
        level around it becomes so; otherwise (left out of order, or in
        another context) what is innermost stays, and skips it from now on."""
        if level is None or not level.open:
            return
        level.open = False
        level.value = None  # an inner level may outlive it: it keeps nothing alive
        if self._var.get() is level:
            self._var.set(_nearest_open(level.outer))

    def get(self) -> Optional[T]:
        """The innermost open scope's value, or None."""
        level = self._var.get()
        if level is not None and not level.open:  # left in another context
            level = _nearest_open(level)
        return None if level is None else level.value

    def open_values(self) -> Iterator[T]:
        """The open scopes' values, innermost first."""
        level = _nearest_open(self._var.get())
        while level is not None:
            if level.value is not None:
                yield level.value
            level = _nearest_open(level.outer)


def _nearest_open(level: "Optional[Level[T]]") -> "Optional[Level[T]]":
    while level is not None and not level.open:
        level = level.outer
    return level
