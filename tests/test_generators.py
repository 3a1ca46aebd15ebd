"""Generators and coroutines are one call however often they resume."""

import asyncio
import time

import pytest

from cfutil import qn
from programs import gens
from pytest_callflow import trace_scope


def test_generator_of_1000_items_is_one_call() -> None:
    with trace_scope() as g:
        assert gens.consume(1000) == sum(range(1000))
    assert g.calls(qn(gens.numbers)) == 1
    assert g.edge_calls(qn(gens.consume), qn(gens.numbers)) == 1


def test_generator_time_excludes_the_consumer() -> None:
    slept = 0.0
    with trace_scope() as g:
        for i in gens.numbers(1000):
            if i % 50 == 0:  # 20 naps of 5 ms between items
                t0 = time.perf_counter()
                time.sleep(0.005)
                slept += time.perf_counter() - t0
    f = g.function(qn(gens.numbers))
    assert f.calls == 1
    assert slept >= 0.1
    # The consumer's naps happen while the generator is suspended.
    assert f.suspended_time >= 0.9 * slept
    assert 0 < f.total_time < 0.5 * slept
    assert 0 <= f.self_time <= f.total_time


def test_abandoned_and_closed_generators_are_one_call_each() -> None:
    with trace_scope() as g:
        it = gens.numbers(1000)
        assert next(it) == 0
        assert next(it) == 1
        it.close()
        for x in gens.numbers(10):
            if x == 3:
                break
    assert g.calls(qn(gens.numbers)) == 2


def test_coroutine_awaiting_50_times_is_one_call() -> None:
    with trace_scope() as g:
        assert asyncio.run(gens.coro(50)) == sum(range(50))
    assert g.calls(qn(gens.coro)) == 1
    assert g.calls(qn(gens.step)) == 50
    assert g.edge_calls(qn(gens.coro), qn(gens.step)) == 50
    assert g.calls(qn(asyncio.sleep)) == 50


def test_concurrent_coroutines_are_one_call_each() -> None:
    async def main() -> list:
        return await asyncio.gather(gens.ticker(50), gens.ticker(50), gens.ticker(50))

    with trace_scope() as g:
        assert asyncio.run(main()) == [50, 50, 50]
    assert g.calls(qn(gens.ticker)) == 3
    assert g.calls(qn(asyncio.sleep)) == 150


def test_coroutine_driven_without_an_event_loop() -> None:
    with trace_scope() as g:
        c = gens.manual(50)
        sends = 0
        try:
            while True:
                c.send(None)
                sends += 1
        except StopIteration as stop:
            assert stop.value == "done"
    assert sends == 50
    assert g.calls(qn(gens.manual)) == 1
    assert g.calls(qn(gens.Tick.__await__)) == 50
    assert g.edge_calls(qn(gens.manual), qn(gens.Tick.__await__)) == 50


def test_async_generator_is_one_call() -> None:
    with trace_scope() as g:
        assert asyncio.run(gens.drain(30)) == list(range(30))
    assert g.calls(qn(gens.agen)) == 1
    assert g.calls(qn(gens.drain)) == 1
    assert g.edge_calls(qn(gens.drain), qn(gens.agen)) == 1


def test_plain_functions_have_no_suspended_time() -> None:
    with trace_scope() as g:
        gens.consume(100)
    assert g.function(qn(gens.consume)).suspended_time == 0


def test_a_generator_sharing_its_name_with_a_plain_function_is_one_call_per_start() -> None:
    # Both are gens:make_items.<locals>.items, one node; the plain one ran
    # first.  Served from the call caches, the generator must still be
    # followed across its yields (one call each time it is started).
    with trace_scope() as g:
        assert gens.use_items(5) == 3 + 5 * 3
    assert g.calls(qn(gens.make_items) + ".<locals>.items") == 6


@pytest.mark.parametrize("generators", [False, True])
def test_code_objects_made_where_dead_ones_were_keep_their_own_names(generators: bool) -> None:
    # A call cache keyed by the code object's address must not hand a new
    # code object the function of a dead one that lived there.
    with trace_scope() as g:
        assert gens.fresh_code_objects(40, generators) == 40
    counts = {f.name: f.calls for f in g.functions() if ":g" in f.name and "<locals>" not in f.name}
    assert counts == {f"{gens.__name__}:g{i}": 1 for i in range(40)}, counts
