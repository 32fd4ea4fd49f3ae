"""Browser-test fixtures: Debian's chromium driven by Playwright, and the servers it looks at.

The browser is `/usr/bin/chromium` from apt (`.ci/install-browser`); Playwright's own browser
download needs the internet, so it is never used. Screenshots and server logs go to
`test-artifacts/` (git-ignored), where CI keeps them.
"""

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.browser.servers import free_port, serve
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


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """`test-artifacts/`: screenshots and server logs for people to look at after the run."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless chromium; fails in CI (env CI set) and skips elsewhere when it is not installed."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found: run `.ci/install-browser` (apt: chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(f"{message}; skipped because CI is unset, in CI this fails")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh tab (own cookies and storage) with a laptop-sized window."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def kedro_viz(tracked_project: Path, artifacts: Path) -> Iterator[str]:
    """`kedro viz run` on the tracked project; yields its URL once the API answers."""
    port = free_port()
    command = [str(BIN / "kedro"), "viz", "run", "--no-browser"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with serve(command, tracked_project, f"{url}/api/main", artifacts / "kedro-viz.log"):
        yield url


@pytest.fixture
def mlflow_ui(tracked_project: Path, artifacts: Path) -> Iterator[str]:
    """`mlflow ui` from the tracked project's root, as the README says; yields its URL."""
    port = free_port()
    command = [str(BIN / "mlflow"), "ui", "--backend-store-uri", "sqlite:///mlflow.db"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    url = f"http://127.0.0.1:{port}"
    with serve(command, tracked_project, f"{url}/health", artifacts / "mlflow-ui.log"):
        yield url
