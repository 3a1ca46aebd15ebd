"""Plain and parametrized test functions."""

import pytest

from shop.pricing import apply_coupon, bulk_rate, line_price, with_tax


@pytest.mark.parametrize("quantity, expected", [(1, 10.0), (10, 95.0), (60, 540.0), (150, 1275.0)])
def test_line_price(quantity: int, expected: float) -> None:
    assert line_price(10.0, quantity) == expected


@pytest.mark.parametrize("code, expected", [("save10", 90.0), ("SAVE25", 75.0), ("bogus", 100.0)])
def test_apply_coupon(code: str, expected: float) -> None:
    assert apply_coupon(100.0, code) == expected


def test_tax_on_discounted_bulk() -> None:
    assert bulk_rate(50) == 0.1
    assert with_tax(line_price(2.0, 50)) == 108.0
