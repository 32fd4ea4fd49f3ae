"""Chromium driven by Playwright, for every test that opens a page: one browser per session.

A plugin (`pytest_plugins` in tests/conftest.py), not tests/browser/conftest.py, so that the
team server's UI test (tests/team) shares the session's one Playwright: a second would refuse
to start inside the first's event loop.

The browser is `/usr/bin/chromium` (Debian's, from apt) when it is there, else Playwright's own
chromium; `make test` installs one of them first (`.ci/install-browser`). Without either the
browser tests are skipped, and the run's last lines say so; in CI (env CI set) they fail.
Screenshots and server logs go to `test-artifacts/` (git-ignored), where CI keeps them.
"""

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from tests.project_copy import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
# Both UIs render client-side; on a busy 2-core CI machine that can take more than 5 s.
expect.set_options(timeout=20_000)
BIN = Path(sys.executable).parent
NO_BROWSER = "no chromium"  # starts the skip reason, so that the summary can count them
HOW_TO_INSTALL = (
    "`make test` installs one (.ci/install-browser): as root `apt-get install chromium`, "
    f"else `{BIN / 'playwright'} install chromium`"
)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """`test-artifacts/`: screenshots and server logs for people to look at after the run."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless chromium; fails in CI (env CI set) and skips elsewhere when none is installed."""
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's chromium, else Playwright's own; without either, a skip (a failure in CI)."""
    if CHROMIUM.exists():
        return playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
    try:
        return playwright.chromium.launch(headless=True, args=CHROMIUM_ARGS)
    except PlaywrightError as error:
        reason = str(error).strip().splitlines()[0]
        message = f"{NO_BROWSER}: no {CHROMIUM}, and Playwright's own failed ({reason})"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; {HOW_TO_INSTALL}")
        pytest.skip(message)


@pytest.hookimpl(trylast=True)  # after the durations, just above the skip list and the count
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say in the last lines of the run that the browser tests were skipped, and why: a skip
    list alone let `make test` pass without testing the pages a user opens."""
    reasons = [
        report.longrepr[2]
        for report in terminalreporter.stats.get("skipped", [])
        if isinstance(report.longrepr, tuple) and NO_BROWSER in report.longrepr[2]
    ]
    if reasons:
        terminalreporter.write_line(
            f"{len(reasons)} browser tests skipped: {reasons[0].removeprefix('Skipped: ')}. "
            f"To run them, {HOW_TO_INSTALL}.",
            yellow=True,
            bold=True,
        )
