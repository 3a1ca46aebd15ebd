"""Products and the catalog that looks them up by SKU."""

from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price: float
    category: str = "general"


def normalize_sku(raw: str) -> str:
    return raw.strip().upper()


class Catalog:
    def __init__(self, products: Iterable[Product] = ()) -> None:
        self._by_sku: Dict[str, Product] = {}
        for product in products:
            self.add(product)

    def add(self, product: Product) -> None:
        self._by_sku[normalize_sku(product.sku)] = product

    def get(self, sku: str) -> Optional[Product]:
        return self._by_sku.get(normalize_sku(sku))

    def in_category(self, category: str) -> List[Product]:
        return sorted((p for p in self._by_sku.values() if p.category == category),
                      key=lambda p: p.sku)
