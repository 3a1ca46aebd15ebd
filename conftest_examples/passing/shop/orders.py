"""Orders: lines checked against the catalog and reserved in the inventory."""

from dataclasses import dataclass, field
from typing import List

from .catalog import Catalog
from .inventory import Inventory
from .pricing import apply_coupon, line_price, with_tax


@dataclass
class Line:
    sku: str
    quantity: int
    amount: float


@dataclass
class Order:
    catalog: Catalog
    inventory: Inventory
    lines: List[Line] = field(default_factory=list)

    def add(self, sku: str, quantity: int) -> Line:
        product = self.catalog.get(sku)
        if product is None:
            raise KeyError(f"unknown SKU {sku!r}")
        self.inventory.reserve(product.sku, quantity)
        line = Line(product.sku, quantity, line_price(product.price, quantity))
        self.lines.append(line)
        return line

    def cancel(self) -> None:
        for line in self.lines:
            self.inventory.release(line.sku, line.quantity)
        self.lines.clear()

    def total(self, coupon: str = "") -> float:
        subtotal = sum(line.amount for line in self.lines)
        if coupon:
            subtotal = apply_coupon(subtotal, coupon)
        return with_tax(subtotal)
