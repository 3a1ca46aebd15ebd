"""Restock alerts, sent concurrently (the async part of the shop)."""

import asyncio
from typing import Dict, List

from .inventory import Inventory


async def send_alert(outbox: List[str], sku: str, available: int) -> None:
    await asyncio.sleep(0)  # stands in for a network call
    outbox.append(f"restock {sku}: {available} left")


async def alert_low_stock(inventory: Inventory, threshold: int) -> List[str]:
    outbox: List[str] = []
    low: Dict[str, int] = {sku: inventory.available(sku) for sku in inventory.low_stock(threshold)}
    await asyncio.gather(*(send_alert(outbox, sku, left) for sku, left in low.items()))
    return sorted(outbox)
