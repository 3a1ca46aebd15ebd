"""A traced run fixes its hash seed: started from the command line without
PYTHONHASHSEED it starts again with PYTHONHASHSEED=0, so that code whose
calls follow the order of a set of strings keeps its baseline; a seed the
user set is kept; a run started by another program says its seed is random."""

import re
import sys

import pytest

from plugin_projects import Project, text

SEED_PROBE = """
    import os
    import sys


    def test_seed():
        print("SEED", os.environ.get("PYTHONHASHSEED"), sys.flags.hash_randomization)
"""

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="no exec on Windows")


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    project = Project(pytester, monkeypatch)
    project.write("test_seed.py", SEED_PROBE)
    return project


def _seed(result: pytest.RunResult) -> str:
    found = re.search(r"SEED \S+ \d", text(result))
    assert found, text(result)
    return found.group(0)


def test_a_traced_run_starts_again_with_a_fixed_seed(project: Project) -> None:
    result = project.run_subprocess("--callflow", "-s")
    assert _seed(result) == "SEED 0 0"
    result.assert_outcomes(passed=1)
    assert "hash seed is random" not in text(result)


def test_an_untraced_run_keeps_its_random_seed(project: Project) -> None:
    result = project.run_subprocess("-s")
    assert _seed(result) == "SEED None 1"


def test_a_seed_the_user_set_is_kept(project: Project,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONHASHSEED", "123")
    result = project.run_subprocess("--callflow", "-s")
    assert _seed(result) == "SEED 123 1"


def test_a_run_started_by_another_program_says_its_seed_is_random(project: Project) -> None:
    result = project.run("--callflow")  # pytest.main() inside this process
    result.assert_outcomes(passed=1)
    assert "hash seed is random in this run" in text(result)


UNITTEST_PROBE = """
    import os
    import sys
    import unittest


    class TestSeed(unittest.TestCase):
        def test_seed(self):
            print("SEED", os.environ.get("PYTHONHASHSEED"), sys.flags.hash_randomization)
"""


def test_the_unittest_runner_starts_again_with_a_fixed_seed(project: Project) -> None:
    project.write("test_useed.py", UNITTEST_PROBE)
    result = project.pytester.run(sys.executable, "-m", "pytest_callflow.unittest",
                                  "test_useed", timeout=120)
    assert _seed(result) == "SEED 0 0"
