"""Browser-test fixtures: a tab, and the servers it looks at (the browser: chromium.py)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.chromium import BIN
from tests.browser.servers import free_port, serve


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
