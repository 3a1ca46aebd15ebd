"""conftest.py recipe for pytest-callflow (project: conftest_examples/leaks).

Recipe 4 (this file): leak checks and event-loop budgets.

    pytest --callflow-leaks     # run each test 2 + 5 times, fail those that grow the heap

``--callflow-leaks`` re-runs every test's body (fixtures set up once), collects
garbage and takes a heap census after each run; a type that grows on every
measured run fails the test, with its growth per run, where a sample object
was allocated and who holds it.  ``@pytest.mark.callflow_leaks(...)`` checks a
single test without the flag.  This conftest leaves the defaults alone and
only clears the handler registry between tests, as a real suite would; the
leak in ``tests/test_events.py`` happens within a test, run after run.

``@pytest.mark.callflow(max_blocking_ms=...)`` (tests/test_notify.py) fails an
async test whose event loop was blocked longer than that by one task step;
the report names the coroutine.
"""

from typing import Iterator

import pytest

from shop import events


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    yield
    events.clear()
