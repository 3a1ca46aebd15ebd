"""Prices: tax, bulk discounts and coupons."""

from typing import Dict

TAX_RATE = 0.2
# quantity threshold -> discount rate
BULK_TIERS: Dict[int, float] = {10: 0.05, 50: 0.1, 100: 0.15}


def bulk_rate(quantity: int) -> float:
    rate = 0.0
    for threshold, tier_rate in BULK_TIERS.items():
        if quantity >= threshold:
            rate = tier_rate
    return rate


def line_price(unit_price: float, quantity: int) -> float:
    return round(unit_price * quantity * (1 - bulk_rate(quantity)), 2)


def with_tax(amount: float) -> float:
    return round(amount * (1 + TAX_RATE), 2)


def apply_coupon(amount: float, code: str) -> float:
    percent = {"SAVE10": 10, "SAVE25": 25}.get(code.upper(), 0)
    return round(amount * (100 - percent) / 100, 2)
