"""An async test, run by pytest-asyncio (the module is skipped without it)."""

import pytest

pytest.importorskip("pytest_asyncio")

from shop.alerts import alert_low_stock  # noqa: E402
from shop.inventory import Inventory  # noqa: E402


@pytest.mark.asyncio
async def test_alert_low_stock(inventory: Inventory) -> None:
    inventory.reserve("ro-3", 199)
    # ab-1 has exactly 3 left: not below the threshold
    assert await alert_low_stock(inventory, 3) == ["restock ro-3: 1 left", "restock te-4: 2 left"]
