import pytest

from shop.pricing import top_customers, total
from shop.repository import Order


@pytest.mark.parametrize("amounts, expected", [([], 0.0), ([1.25, 2.5], 3.75), ([0.1] * 3, 0.3)])
def test_total(amounts, expected) -> None:  # type: ignore[no-untyped-def]
    assert total(Order(i, 1, a) for i, a in enumerate(amounts)) == expected


def test_top_customers() -> None:
    orders = {1: [Order(1, 1, 5.0)], 2: [Order(2, 2, 9.0)], 3: [Order(3, 3, 9.0)]}
    assert top_customers(orders, 2) == [2, 3]
