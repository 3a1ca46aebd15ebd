"""conftest.py recipes for pytest-callflow (project: conftest_examples/passing).

How the gate is switched on here
--------------------------------
Recipe 1 (pytest.ini): ``callflow = true`` traces every test of the project and
compares it with its baseline under ``.callflow/``, exactly as ``pytest
--callflow`` would.  Leave the ini alone and pass ``--callflow`` (in CI, say)
if plain local runs should not trace.  Record or refresh the baselines with::

    pytest --callflow-update        # then review and commit the .callflow/ diff

Recipe 2 (this file): a per-test call budget built on the ``callflow``
fixture, the running test's live call graph (a pytest_callflow
LiveCallGraph).  ``callflow.calls("pkg.mod:func")`` reads how often a function
has been called so far in this test, so a test can assert on call counts in
the middle of its own body, or, as below, a fixture can check them when the
test is done.  Names are ``module:qualname`` (``shop.inventory:Inventory.reserve``).

Recipe 3 (see conftest_examples/regressions/conftest.py): a default
``@pytest.mark.callflow(...)`` for every test that has none, set in
``pytest_collection_modifyitems``.
"""

from typing import Callable, Dict, Iterator

import pytest

from shop.catalog import Catalog, Product
from shop.inventory import Inventory


@pytest.fixture
def catalog() -> Catalog:
    return Catalog([
        Product("ab-1", "Anvil", 25.0, "tools"),
        Product("hm-2", "Hammer", 12.5, "tools"),
        Product("ro-3", "Rope", 4.0, "outdoor"),
        Product("te-4", "Tent", 120.0, "outdoor"),
    ])


@pytest.fixture
def inventory() -> Inventory:
    stock = Inventory()
    for sku, quantity in (("ab-1", 3), ("hm-2", 40), ("ro-3", 200), ("te-4", 2)):
        stock.add_stock(sku, quantity)
    return stock


BudgetSetter = Callable[[str, int], None]


@pytest.fixture
def call_budget(callflow) -> Iterator[BudgetSetter]:  # type: ignore[no-untyped-def]
    """``call_budget("shop.catalog:normalize_sku", 4)``: fail the test if
    that function was called more often than that by the time the test ends.
    Unlike a baseline, a budget states the intended cost in the test itself."""
    budgets: Dict[str, int] = {}
    yield budgets.__setitem__
    over = {name: callflow.calls(name) for name, limit in budgets.items()
            if callflow.calls(name) > limit}
    if over:
        pytest.fail("call budget exceeded: " + ", ".join(
            f"{name} called {calls} times (budget {budgets[name]})"
            for name, calls in sorted(over.items())), pytrace=False)
