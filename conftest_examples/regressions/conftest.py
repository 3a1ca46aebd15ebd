"""conftest.py recipe for pytest-callflow (project: conftest_examples/regressions).

How the gate is switched on here
--------------------------------
Not in pytest.ini: this project runs the gate from the command line, as a CI
job would::

    pytest --callflow                  # trace, compare with .callflow/, fail regressions
    pytest --callflow --callflow-update  # record new baselines (review the diff!)

Recipe 3 (this file): a project-wide default for ``@pytest.mark.callflow``.
Every test that has no callflow marker of its own gets ``strict=True``: besides
rising call counts, a call path that appeared or vanished since the baseline
fails the test too.  (pytest's own helpers such as ``pytest.raises`` are never
recorded, so a pytest upgrade changes no baseline.)  A test's own marker (for
instance the ``max_calls``
budget in tests/test_repository.py) replaces the default rather than merging
with it.  Other useful defaults: ``max_calls_increase=0.1`` for a slow,
data-dependent directory, or ``ignore=["shop.log:debug"]`` for a helper
whose count depends on the log level (a trailing "." or ":" makes an ignore
entry a module prefix).

Recipes 1 and 2 (``callflow = true`` in the ini, a fixture reading the
``callflow`` live graph) are in conftest_examples/passing/.
"""

from typing import List

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    default = pytest.mark.callflow(strict=True)
    for item in items:
        if item.get_closest_marker("callflow") is None:
            item.add_marker(default)
