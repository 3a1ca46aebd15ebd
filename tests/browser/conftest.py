"""Fixtures of the browser tests: one headless Chromium per module
(Debian's ``chromium`` driven by Playwright from PyPI; no browser is ever
downloaded), a page per test that fails the test on any console error or
uncaught exception (a Content-Security-Policy violation is one), and a
screenshot of each page kept under $CALLFLOW_ARTIFACTS (else a pytest
temporary directory; its path is printed at the end of the run).

Without playwright or chromium the tests skip, saying which is missing;
``make test`` installs both."""

import os
import re
import shutil
import time
from pathlib import Path
from typing import Any, Iterator, List, Optional

import pytest

_ARTIFACTS: List[Path] = []


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        # The browser is not ours to sanitize: `make check-sanitize` preloads
        # ASan/UBSan into this process, and chromium must not inherit them.
        env = {key: value for key, value in os.environ.items()
               if key not in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS", "PYTHONMALLOC")}
        launched = playwright.chromium.launch(executable_path=chromium, env=env)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("CALLFLOW_ARTIFACTS")
    path = Path(chosen) if chosen else tmp_path_factory.mktemp("callflow-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    _ARTIFACTS.append(path)
    return path


class ReportPage:
    """A browser page on a report file, collecting console errors."""

    def __init__(self, page: Any, artifacts: Path, name: str) -> None:
        self.page = page
        self.artifacts = artifacts
        self.name = name
        self.errors: List[str] = []
        self.shots = 0
        page.on("console", lambda msg: self.errors.append(f"console.{msg.type}: {msg.text}")
                if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def open(self, path: Any, fragment: str = "") -> Any:
        url = Path(path).resolve().as_uri() + (f"#{fragment}" if fragment else "")
        self.page.goto(url)
        self.wait("() => window.callflowReadyAt !== undefined", timeout=20.0)
        assert not self.errors, self.errors
        return self.page

    def open_plain(self, path: Any) -> Any:
        """A page that is not one of ours (the leak report): loaded."""
        self.page.goto(Path(path).resolve().as_uri(), wait_until="load")
        assert not self.errors, self.errors
        return self.page

    def wait(self, function: str, arg: Any = None, timeout: float = 5.0) -> Any:
        """Poll the JS ``function`` (called with ``arg``) until it returns a
        truthy value.  (Playwright's wait_for_function compiles its
        predicate with eval, which the report's CSP forbids.)"""
        deadline = time.monotonic() + timeout
        while True:
            value = self.page.evaluate(function, arg)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {function}")
            time.sleep(0.02)

    def wait_frames(self, n: int = 2) -> None:
        self.page.evaluate("n => new Promise(r => { const step = k => k ? "
                           "requestAnimationFrame(() => step(k - 1)) : r(); step(n); })", n)

    def shot(self, label: Optional[str] = None) -> Path:
        self.shots += 1
        path = self.artifacts / f"{self.name}{'-' + label if label else ''}.png"
        self.page.screenshot(path=str(path), full_page=False)
        return path


@pytest.fixture
def report_page(browser: Any, artifacts: Path, request: pytest.FixtureRequest) -> Iterator[ReportPage]:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    name = re.sub(r"[^\w.-]+", "_", request.node.name)[:80]
    helper = ReportPage(page, artifacts, name)
    try:
        yield helper
        if not helper.shots and page.url.startswith("file:"):
            helper.shot()
    finally:
        page.close()
    assert not helper.errors, f"the page logged errors: {helper.errors}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _ARTIFACTS:
        terminalreporter.write_line(f"callflow report screenshots: {_ARTIFACTS[0]}")
