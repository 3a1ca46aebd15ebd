import pytest

from shop.repository import load_customer, load_orders


# The N+1 guard: an absolute budget on database round trips, checked by
# pytest-callflow with or without a baseline, and even without --callflow.
@pytest.mark.callflow(max_calls={"shop.db:query": 1})
def test_load_orders_of_all_customers() -> None:
    orders = load_orders(range(1, 9))
    assert sorted(orders) == list(range(1, 9))
    assert sum(len(found) for found in orders.values()) == 40
    assert [order.id for order in orders[3]] == [102, 110, 118, 126, 134]


def test_load_customer() -> None:
    assert load_customer(4) == "customer 4"
    with pytest.raises(LookupError):
        load_customer(99)
