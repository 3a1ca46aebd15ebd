"""Loading customers and their orders from the database."""

from dataclasses import dataclass
from typing import Dict, List, Sequence

from . import db


@dataclass(frozen=True)
class Order:
    id: int
    customer_id: int
    amount: float

    @classmethod
    def from_row(cls, row: db.Row) -> "Order":
        return cls(row["id"], row["customer_id"], row["amount"])


def load_customer(customer_id: int) -> str:
    rows = db.query("customers", id=customer_id)
    if not rows:
        raise LookupError(f"no customer {customer_id}")
    return str(rows[0]["name"])


def load_orders(customer_ids: Sequence[int]) -> Dict[int, List[Order]]:
    """Orders per customer.

    REGRESSION (N+1 queries): one db.query per customer instead of one for
    all of them.  The baseline was recorded on the good version::

        by_customer = {cid: [] for cid in customer_ids}
        for row in db.query("orders", customer_id=list(customer_ids)):
            by_customer[row["customer_id"]].append(Order.from_row(row))
        return by_customer
    """
    by_customer: Dict[int, List[Order]] = {}
    for cid in customer_ids:
        by_customer[cid] = [Order.from_row(row) for row in db.query("orders", customer_id=cid)]
    return by_customer
