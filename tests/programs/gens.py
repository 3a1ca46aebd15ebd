"""Generators, coroutines and async generators."""

import asyncio
import gc
from typing import Any, AsyncIterator, Callable, Dict, Generator, Iterable, Iterator, List


def numbers(n: int) -> Iterator[int]:
    for i in range(n):
        yield i


def consume(n: int) -> int:
    total = 0
    for x in numbers(n):
        total += x
    return total


async def step(i: int) -> int:
    await asyncio.sleep(0)
    return i


async def coro(n: int) -> int:
    """Awaits n times: one call of coro, n calls of step."""
    total = 0
    for i in range(n):
        total += await step(i)
    return total


async def ticker(n: int) -> int:
    for _ in range(n):
        await asyncio.sleep(0)
    return n


async def agen(n: int) -> AsyncIterator[int]:
    for i in range(n):
        await asyncio.sleep(0)
        yield i


async def drain(n: int) -> List[int]:
    out = []
    async for x in agen(n):
        out.append(x)
    return out


class Tick:
    """An awaitable that suspends its awaiter once, without an event loop."""

    def __await__(self) -> Generator[None, None, None]:
        yield


async def manual(n: int) -> str:
    for _ in range(n):
        await Tick()
    return "done"


def make_items(kind: str) -> Callable[[], Iterable[int]]:
    """Two functions of one name (and so one node in the tree): a plain one
    and a generator."""
    if kind == "list":
        def items() -> Iterable[int]:
            return [1, 2]
    else:
        def items() -> Iterable[int]:  # type: ignore[misc]
            yield 1
            yield 2
    return items


def use_items(n: int) -> int:
    as_list, as_gen = make_items("list"), make_items("gen")
    total = sum(as_list())  # the plain one runs first and names the node
    for _ in range(n):
        total += sum(as_gen())
    return total


def call(fn: Callable[[], Any]) -> Any:
    return fn()


def fresh_code_objects(n: int, generators: bool) -> int:
    """n functions (or generator functions) compiled one after another and
    dropped at once: their code objects die and the next one is often made
    at the same address."""
    body = "yield" if generators else "return"
    for i in range(n):
        ns: Dict[str, Any] = {}
        exec(compile(f"def g{i}():\n    {body} {i}\n", __file__, "exec"), ns)
        result = call(ns[f"g{i}"])
        assert (list(result) if generators else [result]) == [i]
        del ns, result
        gc.collect()
    return n
