"""A small shop: the sample program `make demo` traces."""

import json
from dataclasses import dataclass
from typing import Dict, Iterator, List


@dataclass
class Item:
    sku: str
    price: float
    quantity: int

    @property
    def subtotal(self) -> float:
        return self.price * self.quantity


class Cart:
    def __init__(self) -> None:
        self.items: List[Item] = []

    def add(self, sku: str, price: float, quantity: int = 1) -> None:
        self.items.append(Item(sku, price, quantity))

    def total(self) -> float:
        return sum(item.subtotal for item in self.items)

    def lines(self) -> Iterator[str]:
        for item in self.items:
            yield f"{item.sku:<8}{item.quantity:>3} x {item.price:7.2f}"


def discount(total: float, tiers: Dict[float, float]) -> float:
    rate = max((r for limit, r in tiers.items() if total >= limit), default=0.0)
    return round(total * (1 - rate), 2)


def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def checkout(order: int) -> str:
    cart = Cart()
    for i in range(5):
        cart.add(f"SKU{order}-{i}", 3.5 + i, quantity=1 + i % 3)
    receipt = {"lines": list(cart.lines()), "total": discount(cart.total(), {20.0: 0.05, 50.0: 0.1})}
    return json.dumps(receipt)


def main() -> None:
    receipts = [json.loads(checkout(order)) for order in range(200)]
    print(f"{len(receipts)} receipts, grand total {sum(r['total'] for r in receipts):.2f}, "
          f"lucky number {fib(15)}")


if __name__ == "__main__":
    main()
