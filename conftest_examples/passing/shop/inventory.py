"""Stock levels per SKU, with reservations for orders in progress."""

from typing import Dict, List


class OutOfStock(Exception):
    def __init__(self, sku: str, wanted: int, available: int) -> None:
        super().__init__(f"{sku}: wanted {wanted}, {available} available")
        self.sku = sku
        self.wanted = wanted
        self.available = available


class Inventory:
    def __init__(self) -> None:
        self._on_hand: Dict[str, int] = {}
        self._reserved: Dict[str, int] = {}

    def add_stock(self, sku: str, quantity: int) -> None:
        if quantity <= 0:
            raise ValueError(f"quantity must be positive, got {quantity}")
        self._on_hand[sku] = self._on_hand.get(sku, 0) + quantity

    def available(self, sku: str) -> int:
        return self._on_hand.get(sku, 0) - self._reserved.get(sku, 0)

    def reserve(self, sku: str, quantity: int) -> None:
        free = self.available(sku)
        if quantity > free:
            raise OutOfStock(sku, quantity, free)
        self._reserved[sku] = self._reserved.get(sku, 0) + quantity

    def release(self, sku: str, quantity: int) -> None:
        self._reserved[sku] = max(0, self._reserved.get(sku, 0) - quantity)

    def low_stock(self, threshold: int) -> List[str]:
        return sorted(sku for sku in self._on_hand if self.available(sku) < threshold)
