"""Async notifications: render and send a message per customer."""

import asyncio
import time
from typing import List


def render(customer: str) -> str:
    return f"Dear {customer}, your order has shipped."


async def send(customer: str) -> str:
    await asyncio.sleep(0.001)  # the network
    return render(customer)


async def send_all(customers: List[str]) -> List[str]:
    return list(await asyncio.gather(*(send(c) for c in customers)))


async def send_all_with_audit(customers: List[str]) -> List[str]:
    sent = await send_all(customers)
    audit(sent)
    return sent


def audit(messages: List[str]) -> None:
    # A synchronous pause inside a coroutine: the event loop is blocked.
    time.sleep(0.15)
