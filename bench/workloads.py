"""The three benchmark workloads, stdlib only.

This module is imported both by the in-process harness (overhead.py) and by
the seed-tracer driver that runs in its own virtualenv, so it must not import
anything outside the standard library.  Each workload is exposed as a
zero-argument callable so every tool times exactly the same object.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Callable, Dict, List, NamedTuple


# --- fib(25) -----------------------------------------------------------------

FIB_N = 25


def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def fib_calls(n: int) -> int:
    """Number of fib() calls that fib(n) makes (used to sanity-check tracers)."""
    return 1 if n < 2 else 1 + fib_calls(n - 1) + fib_calls(n - 2)


# --- realistic mixed workload -------------------------------------------------

# ~0.5 s untraced on CPython 3.12 on the 2-core project machines.
REALISTIC_ITERATIONS = 4800


class Item:
    def __init__(self, sku: str, price: float, qty: int) -> None:
        self.sku = sku
        self.price = price
        self.qty = qty

    @property
    def total(self) -> float:
        return self.price * self.qty

    @property
    def label(self) -> str:
        return f"{self.sku}:{self.qty}x{self.price:.2f}"

    def discounted(self, pct: float) -> "Item":
        return Item(self.sku, round(self.price * (1.0 - pct), 2), self.qty)

    def to_dict(self) -> Dict[str, Any]:
        return {"sku": self.sku, "price": self.price, "qty": self.qty}

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Item":
        return cls(str(data["sku"]), float(data["price"]), int(data["qty"]))


class Order:
    def __init__(self, order_id: int, items: List[Item]) -> None:
        self.order_id = order_id
        self.items = items

    @property
    def total(self) -> float:
        return sum(item.total for item in self.items)

    @property
    def biggest(self) -> Item:
        return max(self.items, key=lambda item: item.total)

    def summary(self) -> str:
        return "Order {0}: {1} items, total {2:.2f}, biggest {3}".format(
            self.order_id, len(self.items), self.total, self.biggest.label
        )

    def to_json(self) -> str:
        return json.dumps(
            {"id": self.order_id, "items": [item.to_dict() for item in self.items]},
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> "Order":
        data = json.loads(text)
        return cls(data["id"], [Item.from_dict(d) for d in data["items"]])


def realistic_round(seed: int) -> int:
    items = [Item(f"SKU-{seed}-{k}", 1.5 + k * 0.25, k % 7 + 1) for k in range(12)]
    order = Order(seed, items)
    for _ in range(3):  # json round trips
        order = Order.from_json(order.to_json())
    by_qty = {item.sku: item.qty for item in order.items if item.qty > 2}
    labels = [item.label for item in order.items]
    cheaper = Order(seed, [item.discounted(0.1) for item in order.items])
    report = "; ".join("%s=%d" % (sku, qty) for sku, qty in sorted(by_qty.items()))
    return len(report) + len(labels) + len(cheaper.summary()) + int(order.total)


def realistic(iterations: int = REALISTIC_ITERATIONS) -> int:
    acc = 0
    for i in range(iterations):
        acc += realistic_round(i)
    return acc


# --- asyncio workload ---------------------------------------------------------

ASYNC_TASKS = 200
ASYNC_AWAITS = 50


async def _worker(task_id: int, awaits: int) -> int:
    acc = 0
    for i in range(awaits):
        await asyncio.sleep(0)
        acc += task_id ^ i
    return acc


async def _gather(tasks: int, awaits: int) -> int:
    results = await asyncio.gather(*(_worker(t, awaits) for t in range(tasks)))
    return sum(results)


def run_async(tasks: int = ASYNC_TASKS, awaits: int = ASYNC_AWAITS) -> int:
    # asyncio.run creates (and closes) a fresh event loop on every call.
    return asyncio.run(_gather(tasks, awaits))


# --- registry -----------------------------------------------------------------


class Workload(NamedTuple):
    name: str
    func: Callable[[], object]
    description: str


def build(
    realistic_iterations: int = REALISTIC_ITERATIONS, async_tasks: int = ASYNC_TASKS
) -> List[Workload]:
    """The three workloads; the sizes are parameters so a very slow tracer can
    be measured on a smaller input (fib is always fib(25))."""

    def fib_workload() -> int:
        return fib(FIB_N)

    def realistic_workload() -> int:
        return realistic(realistic_iterations)

    def async_workload() -> int:
        return run_async(async_tasks, ASYNC_AWAITS)

    return [
        Workload("fib", fib_workload, f"fib({FIB_N}) = {fib_calls(FIB_N)} calls"),
        Workload("realistic", realistic_workload, f"realistic x{realistic_iterations}"),
        Workload("asyncio", async_workload, f"asyncio {async_tasks} tasks x {ASYNC_AWAITS} awaits"),
    ]
