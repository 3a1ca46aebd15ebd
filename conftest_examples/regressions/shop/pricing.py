"""Order totals."""

from typing import Dict, Iterable, List

from .repository import Order


def total(orders: Iterable[Order]) -> float:
    return round(sum(order.amount for order in orders), 2)


def top_customers(orders: Dict[int, List[Order]], count: int) -> List[int]:
    ranked = sorted(orders, key=lambda cid: (-total(orders[cid]), cid))
    return ranked[:count]
