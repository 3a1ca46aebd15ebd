"""A test class using the conftest fixtures."""

import pytest

from shop.inventory import Inventory, OutOfStock


class TestInventory:
    def test_reserve_and_release(self, inventory: Inventory) -> None:
        inventory.reserve("hm-2", 15)
        inventory.reserve("hm-2", 5)
        assert inventory.available("hm-2") == 20
        inventory.release("hm-2", 15)
        assert inventory.available("hm-2") == 35

    def test_out_of_stock(self, inventory: Inventory) -> None:
        with pytest.raises(OutOfStock) as info:
            inventory.reserve("te-4", 3)
        assert (info.value.wanted, info.value.available) == (3, 2)

    def test_low_stock(self, inventory: Inventory) -> None:
        inventory.reserve("hm-2", 38)
        assert inventory.low_stock(5) == ["ab-1", "hm-2", "te-4"]

    def test_rejects_non_positive_stock(self) -> None:
        with pytest.raises(ValueError):
            Inventory().add_stock("x", 0)
