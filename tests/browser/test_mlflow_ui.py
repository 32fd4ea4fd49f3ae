"""The MLflow UI, in a real browser, shows the GAN and L1 runs: charts, parameters, model, samples."""

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.tracked_runs import EXPERIMENT, VARIANTS


def open_experiment(page: Page, url: str) -> None:
    """Home page -> "Model training" -> the experiment's runs table, as a user clicks it."""
    page.goto(url)
    page.get_by_role("button", name="Model training").click()
    page.get_by_role("link", name=EXPERIMENT, exact=True).first.click()
    expect(page.get_by_role("heading", name="Runs")).to_be_visible()
    close_assistant = page.get_by_role("button", name="Close")  # the side panel hides the table
    if close_assistant.is_visible():
        close_assistant.click()


def expand_parent_runs(page: Page) -> None:
    """Each `kedro run` is a parent run; the variants are nested under it, collapsed at first."""
    grid = page.locator("[role=grid]").first
    expect(grid.get_by_role("row").nth(1)).to_be_visible()
    expanders = grid.locator("[role=gridcell] button[data-component-id*='runnamecellrenderer']")
    for index in range(expanders.count()):
        expanders.nth(index).click()


def hide_runs_except(page: Page, names: tuple[str, ...]) -> None:
    """Click the eye of every other run (the kedro-mlflow parents): the charts keep two lines."""
    for row in page.get_by_role("row").filter(has=page.get_by_role("link")).all():
        if row.get_by_role("link").inner_text() not in names:
            row.locator("label").filter(has_text="Hide run").click()


def test_mlflow_ui_shows_both_runs_with_curves_parameters_model_and_samples(
    page: Page, mlflow_ui: str, artifacts: Path
) -> None:
    open_experiment(page, mlflow_ui)
    expand_parent_runs(page)
    for variant in VARIANTS:
        expect(page.get_by_role("link", name=variant, exact=True)).to_be_visible()

    page.locator("label", has=page.locator("input[value=CHART]")).click()
    page.get_by_role("searchbox", name="Search metric charts").fill("val_")
    hide_runs_except(page, VARIANTS)
    card = page.get_by_test_id("experiment-view-compare-runs-card").filter(
        has=page.get_by_role("heading", name="val_l1", exact=True)
    )
    for variant in VARIANTS:
        expect(card.get_by_text(f"{variant} (val_l1)", exact=True)).to_be_visible()
    # plotly drew the curves: line paths through at least two epochs ("M x,y L x,y ...").
    lines = card.locator(".scatterlayer .trace path.js-line")
    expect(lines.first).to_be_visible()
    drawn = [
        d for d in lines.evaluate_all("paths => paths.map(p => p.getAttribute('d'))") if "L" in d
    ]
    assert len(drawn) >= len(VARIANTS), drawn
    page.evaluate("document.activeElement.blur()")  # no focus ring on the screenshot
    page.screenshot(path=artifacts / "mlflow-ui.png")

    # One run's page: its parameters, the logged generator, and the sample grids it saved.
    page.get_by_role("link", name="gan", exact=True).click()
    expect(page.get_by_role("cell", name="training.adversarial_weight")).to_be_visible()
    expect(page.get_by_text("Logged models (1)")).to_be_visible()
    expect(page.get_by_text("generator", exact=True)).to_be_visible()
    page.get_by_role("tab", name="Artifacts").click()
    page.get_by_text("samples", exact=True).click()
    page.get_by_text(re.compile(r"^epoch_\d+\.png$")).last.click()
    sample = page.locator("main img").first
    expect(sample).to_be_visible()
    assert sample.evaluate("image => image.naturalWidth") > 0
