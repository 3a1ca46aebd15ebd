"""Generators, coroutines and async generators."""

import asyncio
from typing import AsyncIterator, Generator, Iterator, List


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
