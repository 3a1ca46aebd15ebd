"""unittest.TestCase tests run by pytest, plus a test using the ``call_budget``
fixture of conftest.py (recipe 2)."""

import unittest

from shop.catalog import Catalog, Product
from shop.inventory import Inventory
from shop.orders import Order


class OrderTest(unittest.TestCase):
    def setUp(self) -> None:
        self.catalog = Catalog([Product("ab-1", "Anvil", 25.0), Product("ro-3", "Rope", 4.0)])
        self.inventory = Inventory()
        self.inventory.add_stock("ab-1", 5)
        self.inventory.add_stock("ro-3", 100)
        self.order = Order(self.catalog, self.inventory)

    def test_total_with_coupon(self) -> None:
        self.order.add("AB-1", 2)
        self.order.add(" ro-3 ", 20)
        self.assertEqual(self.order.total(), 151.2)
        self.assertEqual(self.order.total("SAVE10"), 136.08)

    def test_cancel_releases_stock(self) -> None:
        self.order.add("ab-1", 5)
        self.assertEqual(self.inventory.available("ab-1"), 0)
        self.order.cancel()
        self.assertEqual(self.inventory.available("ab-1"), 5)

    def test_unknown_sku(self) -> None:
        with self.assertRaises(KeyError):
            self.order.add("zz-9", 1)


def test_order_looks_up_each_sku_once(catalog: Catalog, inventory: Inventory,
                                      call_budget) -> None:  # type: ignore[no-untyped-def]
    # Catalog.get normalizes the SKU once per lookup.  Only the call phase is
    # traced: the catalog fixture's own normalizing (setup) does not count.
    call_budget("shop.catalog:normalize_sku", 3)
    call_budget("shop.inventory:Inventory.reserve", 3)
    order = Order(catalog, inventory)
    for sku, quantity in (("ab-1", 1), ("hm-2", 12), ("ro-3", 120)):
        order.add(sku, quantity)
    assert [line.amount for line in order.lines] == [25.0, 142.5, 408.0]
