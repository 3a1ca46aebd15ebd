"""Generators and coroutines are one call however often they resume."""

import asyncio
import time
from typing import Iterator

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


def _drain(it: Iterator[int]) -> int:
    return sum(1 for _ in it)


def test_generators_suspended_across_scopes_opening_and_closing_are_one_call_in_each() -> None:
    # Suspensions are filed in the generator's note by one session of the
    # thread (the first slot) and in their maps by the others; which one
    # writes changes as scopes start and stop while generators are
    # suspended.  Scopes opened and closed out of order: a, b; a closes
    # (b alone); c opens (in a's free slot, now the first).  `pre` puts
    # a's entries at other indexes than b's.
    a = trace_scope()
    ga = a.__enter__()
    pre = gens.numbers(100)
    assert next(pre) == 0
    b = trace_scope()
    gb = b.__enter__()
    first = gens.numbers(100)
    assert next(first) == 0  # suspended in a (note) and b (map)
    assert next(first) == 1  # both find it
    a.__exit__(None, None, None)
    assert next(first) == 2  # b alone: found in its map, now filed in the note
    second = gens.numbers(100)
    assert next(second) == 0  # b alone: the note
    c = trace_scope()
    gc_ = c.__enter__()
    assert next(second) == 1  # b finds it by the note; c sees a call; c writes
    assert next(first) == 3
    c.__exit__(None, None, None)
    assert next(second) == 2  # b: c's note is not b's entry, b's map has it
    time.sleep(0.02)  # both suspended
    assert _drain(first) == 96
    assert _drain(second) == 97
    b.__exit__(None, None, None)
    assert _drain(pre) == 99
    numbers = qn(gens.numbers)
    assert ga.calls(numbers) == 2
    assert gb.calls(numbers) == 2, "each generator one call however scopes changed"
    assert gc_.calls(numbers) == 2
    f = gb.function(numbers)
    assert f.suspended_time >= 2 * 0.02 * 0.9
    assert 0 < f.total_time < f.suspended_time
