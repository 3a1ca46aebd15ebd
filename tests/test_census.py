"""The heap census through the binding: _native.census, census_diff,
census_growth and their JSON, on synthetic heaps whose counts are known."""

import array
import collections
import functools
import gc
import json
import random
import sys
import tracemalloc
from typing import Any, Callable, Dict, List, Optional

import pytest

from pytest_callflow import _native

# sys.getallocatedblocks() counts pymalloc blocks: 0 under PYTHONMALLOC=malloc
# (the sanitizer run), where a census reports blocks as None.
PYMALLOC = sys.getallocatedblocks() > 0


def type_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def census_after_each_run(body: Callable[[], None], runs: int) -> List["_native.Census"]:
    """Run body `runs` times, collecting garbage and taking a census after
    each run (the leak protocol without pytest around it)."""
    snaps = []
    for _ in range(runs):
        body()
        gc.collect()
        snaps.append(_native.census())
    return snaps


def test_counts_are_exact_for_a_fresh_class() -> None:
    class Fresh:
        pass

    name = type_name(Fresh)
    assert name.endswith("test_counts_are_exact_for_a_fresh_class.<locals>.Fresh")
    gc.collect()
    before = _native.census()
    objs = [Fresh() for _ in range(10_000)]
    after = _native.census()
    assert name not in before
    assert before.count(name) == 0
    assert after.count(name) == 10_000
    assert after[name] == (10_000, 10_000 * sys.getsizeof(objs[0]))
    # The same figure gc.get_objects() gives, object for object.
    assert sum(1 for o in gc.get_objects() if type(o) is Fresh) == 10_000
    del objs
    gc.collect()
    assert _native.census().count(name) == 0


def test_census_counts_what_gc_get_objects_lists() -> None:
    class Marker:
        pass

    keep = [Marker() for _ in range(123)]
    gc.collect()
    c = _native.census()
    listed = gc.get_objects()
    by_type = collections.Counter(type_name(type(o)) for o in listed)
    # Types that only this test creates are counted exactly; the totals
    # differ only by what was made between the two walks.
    assert c.count(type_name(Marker)) == by_type[type_name(Marker)] == 123
    assert abs(c.objects - len(listed)) < 50
    assert len(keep) == 123


@pytest.mark.parametrize("shape", ["compact", "fragmented", "shuffled"])
@pytest.mark.parametrize("extra", [0, 1])  # both parities of the lists' lengths
def test_counts_are_exact_whatever_the_collector_order(shape: str, extra: int) -> None:
    """The walk goes from both ends of each generation list and prefetches
    by address; it counts every object once, however the list runs through
    memory: in address order, with gaps, or shuffled by a collection."""
    class A:
        pass

    class B:
        pass

    rng = random.Random(7)
    made: List[Any] = [A() if i % 3 else B() for i in range(30_000 + extra)]
    if shape == "fragmented":
        made = [o for o in made if rng.random() < 0.5]
    elif shape == "shuffled":
        rng.shuffle(made)
        made = list(made)  # younger than the objects: a collection relinks them in this order
    expected = collections.Counter(type_name(type(o)) for o in made)
    enabled = gc.isenabled()
    gc.disable()
    try:
        gc.collect()
        c = _native.census()
        listed = len(gc.get_objects())
    finally:
        if enabled:
            gc.enable()
    assert c.count(type_name(A)) == expected[type_name(A)]
    assert c.count(type_name(B)) == expected[type_name(B)]
    assert c.objects == listed


def test_bytes_are_what_sys_getsizeof_reports() -> None:
    class L(list):
        pass

    class D(dict):
        pass

    class S(set):
        pass

    class T(tuple):
        pass

    class Slots:
        __slots__ = ("a", "b")

    objs: Dict[type, List[Any]] = {
        L: [L(range(n)) for n in range(50)],
        D: [D((i, [i]) for i in range(n)) for n in range(50)],
        S: [S(range(n)) for n in range(50)],
        T: [T(([i],) * i) for i in range(1, 50)],
        Slots: [Slots() for _ in range(50)],
    }
    c = _native.census()
    for cls, items in objs.items():
        assert c[type_name(cls)] == (len(items), sum(sys.getsizeof(o) for o in items)), cls


def test_names_are_module_and_qualname() -> None:
    od = collections.OrderedDict(a=[1])
    dq = collections.deque([[1]])
    c = _native.census()
    assert c.count("collections.OrderedDict") >= 1
    assert c.count("collections.deque") >= 1
    assert c.count("builtins.dict") > 0
    assert c.count("builtins.function") > 0
    assert c.count("builtins.type") > 0  # heap types are gc-tracked
    # "module.qualname" always has a dot; the pseudo entries of the growth
    # rule never do.
    assert all("." in name for name in c)
    assert "." not in _native.CENSUS_BLOCKS and "." not in _native.CENSUS_TRACED
    assert od and dq


def test_census_object() -> None:
    c = _native.census(label="first")
    assert c.label == "first"
    assert _native.census().label is None
    types = c.types()
    assert len(types) == len(c) > 10
    assert list(types) == sorted(types) == list(c)
    assert sum(n for n, _ in types.values()) == c.objects
    assert sum(b for _, b in types.values()) == c.bytes
    assert (c.blocks is not None and c.blocks > 0) == PYMALLOC
    assert c.traced is None
    assert 0 < c.duration_ns < 10_000_000_000
    with pytest.raises(KeyError):
        c["no.such.Type"]
    assert 3 not in c
    with pytest.raises(TypeError):
        c.count(3)  # type: ignore[arg-type]
    assert "first" in repr(c)
    with pytest.raises(TypeError):
        _native.Census()  # only census() and Census.loads make one


def test_traced_bytes_while_tracemalloc_traces() -> None:
    tracemalloc.start()
    try:
        a = _native.census()
        blob = [bytes(1000) for _ in range(100)]
        b = _native.census()
    finally:
        tracemalloc.stop()
    assert a.traced is not None and b.traced is not None
    assert b.traced - a.traced >= 100_000
    assert _native.census().traced is None
    assert len(blob) == 100


def test_diff() -> None:
    class Grows:
        pass

    gc.collect()
    before = _native.census()
    keep = [Grows() for _ in range(7)]
    after = _native.census()
    d = _native.census_diff(before, after)
    assert d["types"][type_name(Grows)] == (7, 7 * sys.getsizeof(keep[0]))
    assert list(d["types"])[0] == type_name(Grows)  # the biggest change first
    assert d["objects"] == after.objects - before.objects
    assert d["bytes"] == after.bytes - before.bytes
    blocks: Optional[int] = None
    if after.blocks is not None and before.blocks is not None:
        blocks = after.blocks - before.blocks
    assert (blocks is not None) == PYMALLOC
    assert d["blocks"] == blocks
    assert d["traced"] is None
    assert _native.census_diff(after, after)["types"] == {}


def test_list_growing_by_one_object_per_run_is_a_leak() -> None:
    class Handler:
        pass

    registry: List[Handler] = []
    snaps = census_after_each_run(lambda: registry.append(Handler()), runs=6)
    leaks = _native.census_growth(snaps, warmup=2)
    by_name = {leak["name"]: leak for leak in leaks}
    h = by_name[type_name(Handler)]
    assert h["count_growth"] == [1, 1, 1, 1]
    assert h["bytes_growth"] == [sys.getsizeof(registry[0])] * 4
    assert h["by"] == ["count", "bytes"]
    assert h["count"] == 6
    assert leaks[0] is h  # the only type growing on every run
    pseudo = {_native.CENSUS_BLOCKS, _native.CENSUS_TRACED}
    assert set(by_name) - pseudo == {type_name(Handler)}


def test_warm_cache_and_clean_loop_are_not_leaks() -> None:
    class Entry:
        pass

    @functools.lru_cache(maxsize=None)
    def lookup(key: int) -> Entry:
        return Entry()

    def body() -> None:
        for key in range(100):  # fills on the first run only
            lookup(key)
        scratch = [Entry() for _ in range(50)]  # freed at once
        del scratch

    snaps = census_after_each_run(body, runs=6)
    assert snaps[0].count(type_name(Entry)) == snaps[-1].count(type_name(Entry)) == 100
    # Nothing grows on every run: not the cache, nor the censuses kept in
    # snaps (sys.getallocatedblocks() and the types included).
    assert _native.census_growth(snaps, warmup=1) == []


def test_kept_censuses_are_not_growth() -> None:
    # Census objects live outside Python's allocators and are not
    # gc-tracked: a series of them kept alive is no growth of any kind.
    snaps = census_after_each_run(lambda: None, runs=8)
    assert _native.census_growth(snaps, warmup=1) == []


def test_cache_filled_before_warmup_ends_is_absorbed() -> None:
    class Entry:
        pass

    cache: List[Entry] = []

    def body() -> None:
        if len(cache) < 30:  # fills over the first three runs
            cache.extend(Entry() for _ in range(10))

    gc.collect()
    snaps = [_native.census()] + census_after_each_run(body, runs=6)

    def names(leaks: List[dict]) -> set:
        return {leak["name"] for leak in leaks}

    # A census before the first run, then runs 1-3 as warm-up: nothing
    # grows on runs 4-6.
    assert type_name(Entry) not in names(_native.census_growth(snaps, warmup=4))
    # Measuring runs 1-3 instead, the filling cache looks like a leak:
    # warm-up is what absorbs it.
    assert type_name(Entry) in names(_native.census_growth(snaps[:4], warmup=1))


def test_untracked_objects_are_caught_by_blocks_and_traced() -> None:
    kept: List[str] = []
    counter = iter(range(10**9))

    def body() -> None:
        # A fresh str per run: not gc-tracked, invisible to the type census.
        kept.append("item-%d" % next(counter) * 3)

    tracemalloc.start()
    try:
        snaps = census_after_each_run(body, runs=5)
    finally:
        tracemalloc.stop()
    leaks = _native.census_growth(snaps, warmup=1)
    names = [leak["name"] for leak in leaks]
    pseudo = [_native.CENSUS_BLOCKS] if PYMALLOC else []
    pseudo.append(_native.CENSUS_TRACED)
    assert names[-len(pseudo):] == pseudo
    traced = leaks[-1]
    assert traced["by"] == ["bytes"]
    assert all(g > 0 for g in traced["bytes_growth"])
    assert not any(n.endswith(".str") for n in names)  # str is not gc-tracked


def test_floors_and_ignore() -> None:
    class Pair:
        pass

    kept: List[Pair] = []
    snaps = census_after_each_run(lambda: kept.extend((Pair(), Pair())), runs=4)
    name = type_name(Pair)

    def found(**policy: Any) -> bool:
        return any(leak["name"] == name for leak in _native.census_growth(snaps, **policy))

    assert found()
    assert found(min_count=2)
    assert not found(min_count=3, min_bytes=0)
    assert found(min_count=0, min_bytes=1)  # bytes alone
    assert not found(min_count=0, min_bytes=0)
    assert not found(ignore=[name])
    assert not found(ignore=[Pair.__module__ + "."])
    assert found(ignore=["other."])


def test_growth_json() -> None:
    class Leaky:
        pass

    kept: List[Leaky] = []
    snaps = census_after_each_run(lambda: kept.append(Leaky()), runs=4)
    doc = json.loads(_native.census_growth_json(snaps, warmup=2, min_blocks=0, min_traced=0))
    assert doc["schema"] == "callflow-census/1"
    assert doc["runs"] == 2
    assert doc["policy"] == {
        "warmup": 2,
        "min_count": 1,
        "min_bytes": 1,
        "min_blocks": 0,
        "min_traced": 0,
    }
    first = doc["leaks"][0]
    assert first["name"] == type_name(Leaky)
    assert first["count_growth"] == [1, 1]
    assert first == _native.census_growth(snaps, warmup=2, min_blocks=0, min_traced=0)[0]


def test_census_json_round_trip() -> None:
    c = _native.census(label="snap")
    text = c.dumps()
    doc = json.loads(text)
    assert doc["schema"] == "callflow-census/1"
    assert doc["label"] == "snap"
    assert doc["objects"] == c.objects
    assert doc["types"]["builtins.dict"] == list(c["builtins.dict"])
    back = _native.Census.loads(text, source="snap.json")
    assert back.types() == c.types()
    assert (back.objects, back.bytes, back.blocks, back.traced, back.label) == (
        c.objects,
        c.bytes,
        c.blocks,
        c.traced,
        "snap",
    )
    assert back.dumps() == text
    assert "\n" not in c.dumps(indent=False)
    with pytest.raises(ValueError, match=r"snap\.json:1:\d+"):
        _native.Census.loads("{", source="snap.json")
    with pytest.raises(ValueError, match="schema"):
        _native.Census.loads('{"schema": "callflow/1"}')


def test_invalid_growth_arguments() -> None:
    snaps = [_native.census(), _native.census()]
    with pytest.raises(ValueError, match="warmup"):
        _native.census_growth(snaps, warmup=0)
    with pytest.raises(ValueError, match="at least 3"):
        _native.census_growth(snaps, warmup=2)
    with pytest.raises(ValueError, match="min_count"):
        _native.census_growth(snaps, min_count=-1)
    with pytest.raises(TypeError, match="Census"):
        _native.census_growth([snaps[0], {}])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="not a string"):
        _native.census_growth(snaps, ignore="builtins.dict")
    with pytest.raises(TypeError):
        _native.census_growth(snaps, 1)  # type: ignore[call-arg]  # keyword-only policy
    with pytest.raises(TypeError):
        _native.census_diff(snaps[0], {})  # type: ignore[arg-type]


def _traced_peak_of_lookups(hold: Callable[[Any, object], object], ids: Any,
                            objs: List[object]) -> int:
    tracemalloc.start(16)
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        for o in objs:
            hold(ids, o)
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_ids_hold_finds_addresses_in_a_sorted_id_array_without_allocating() -> None:
    # The leak checker's "was this object alive at the baseline?", asked of
    # every object of a leaking type while tracemalloc traces: a Python
    # bisect with id() made traced ints, a second per test on 3.11.
    old = [object() for _ in range(1000)]
    ids = array.array("Q", sorted(map(id, old)))
    fresh = [object() for _ in range(50)]
    assert all(_native.ids_hold(ids, o) for o in old)
    assert not any(_native.ids_hold(ids, o) for o in fresh)  # the old ones are alive
    assert not _native.ids_hold(array.array("Q"), old[0])
    nothing = _traced_peak_of_lookups(lambda ids, o: None, ids, old)
    assert _traced_peak_of_lookups(_native.ids_hold, ids, old) <= nothing
    with pytest.raises(TypeError, match="uint64"):
        _native.ids_hold(array.array("i", [1, 2]), old[0])
    with pytest.raises(TypeError):
        _native.ids_hold([1, 2], old[0])
