"""Bad input and bad places: corrupt, truncated or newer baseline files are
named, left untouched (also by --callflow-update) and do not stop the other
modules from being judged; an unwritable baseline directory is an error
that leaves no partial files."""

import re
from typing import Callable, Dict

import pytest

from plugin_projects import Project, failed_ids, failure_block, text


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Project:
    return Project(pytester, monkeypatch)


def _truncate(raw: str) -> str:
    return raw[: len(raw) // 2]


def _garbage(raw: str) -> str:
    return raw.replace('"tests": {', '"tests": {,', 1)


def _bad_field(raw: str) -> str:
    return raw.replace('"shop.cart:price": 10', '"shop.cart:price": "ten"', 1)


def _newer(raw: str) -> str:
    return raw.replace('"callflow-baseline/1"', '"callflow-baseline/2"', 1)


DAMAGE: Dict[str, Callable[[str], str]] = {
    "truncated": _truncate, "garbage": _garbage, "bad-field": _bad_field, "newer-schema": _newer}


def _damaged(project: Project, how: str) -> bytes:
    """test_cart.py's baseline damaged, test_more.py's intact; then every
    test regresses.  Returns the damaged file's bytes."""
    project.cart_project(repeat=1)
    project.write("test_more.py", """
        from shop.cart import Cart


        def test_more():
            assert Cart(range(4)).total() > 0
    """)
    project.update()
    path = project.baseline_path()
    damaged = DAMAGE[how](path.read_text(encoding="utf-8"))
    assert damaged != path.read_text(encoding="utf-8")
    path.write_text(damaged, encoding="utf-8")
    project.shop(repeat=3)
    return path.read_bytes()


def _assert_named(project: Project, result: pytest.RunResult, how: str) -> None:
    out = text(result)
    assert "test_cart.py.json" in out, out
    if how in ("truncated", "garbage"):
        # ... and the place in it.
        assert re.search(r"line\s*\d+|:\d+:\d+", out), out
    if how == "bad-field":
        assert "shop.cart:price" in out or "calls" in out, out
    if how == "newer-schema":
        assert "callflow-baseline/2" in out or "schema" in out.lower(), out


@pytest.mark.parametrize("how", sorted(DAMAGE))
def test_a_damaged_baseline_is_named_and_the_rest_still_judged(project: Project, how: str) -> None:
    raw = _damaged(project, how)
    result = project.run("--callflow")
    _assert_named(project, result, how)
    assert result.ret != 0
    assert "test_more.py::test_more" in failed_ids(result)
    assert "shop.cart:price" in failure_block(result, "test_more")
    assert project.baseline_path().read_bytes() == raw


@pytest.mark.parametrize("how", sorted(DAMAGE))
def test_update_refuses_to_rewrite_a_damaged_baseline(project: Project, how: str) -> None:
    raw = _damaged(project, how)
    result = project.run("--callflow", "--callflow-update")
    _assert_named(project, result, how)
    assert project.baseline_path().read_bytes() == raw
    # The intact module is updated all the same.
    assert project.entry("test_more", "test_more.py")["calls"]["shop.cart:price"] == 12
    assert sorted(project.files(".callflow")) == [
        ".callflow/test_cart.py.json", ".callflow/test_more.py.json"]


@pytest.mark.parametrize("where", ["callflow-is-a-file", "dir-under-a-file"])
def test_an_unwritable_baseline_directory_is_an_error_without_partial_files(
        project: Project, where: str) -> None:
    # chmod does not stop root: a file where a directory must be does.
    if where == "callflow-is-a-file":
        blocker, named = ".callflow", ".callflow"
    else:
        blocker, named = "blocker", "blocker"
        project.ini("callflow_dir = blocker/baselines")
    project.cart_project()
    project.write(blocker, "not a directory\n")
    before = project.files()
    result = project.run("--callflow", "--callflow-update")
    out = text(result)
    assert result.ret != 0, out
    assert named in out, out
    assert project.files() == before, "nothing written, nothing left behind"
