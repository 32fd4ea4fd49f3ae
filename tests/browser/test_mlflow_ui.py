"""The MLflow UI, in a real browser, shows the GAN and L1 runs: charts, parameters, model, samples,
and their evaluation side by side in the compare view."""

import re
from pathlib import Path

import mlflow
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.tracked_runs import EXPERIMENT, VARIANTS

# What the evaluation puts on each model's run; the compare view must show every one.
EVALUATION_METRICS = (
    "test_mae",
    "test_psnr",
    "test_ssim",
    "test_delta_e2000",
    "test_colourfulness",
    "test_semantic_accuracy",
    "test_fd_classifier",
)


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


def wheel_to_metric(page: Page, metric: str) -> Locator:
    """Wheel the compare view's metric values until `metric`'s row is in view; return its name.

    Names and values are two virtualised grids (only the rows near the view exist in the page);
    the values grid scrolls and the names grid follows it one wheel event late.
    """
    link = page.locator("a[title='Plot chart']", has_text=re.compile(f"^{metric}$"))
    names = page.locator(".ReactVirtualized__Grid").filter(has=page.locator("a[title]")).first
    grid = "contains(concat(' ', @class, ' '), ' ReactVirtualized__Grid ')"
    values = names.locator(f"xpath=following::div[{grid}]").first
    sweep = -60  # a row not rendered yet: look from the top down
    for _ in range(80):
        if link.count():
            offset = _offset_from_view(link.first, values)
            if offset == 0:
                break
            step = max(-60, min(60, offset))
        else:
            if values.evaluate("grid => grid.scrollTop") == 0:
                sweep = 60
            step = sweep
        values.hover()  # again each time: a wheel at the grid's end scrolls the page instead
        page.mouse.wheel(0, step)
        page.wait_for_timeout(150)
    values.hover()
    page.mouse.wheel(0, 1)  # the names grid catches up with the values
    page.wait_for_timeout(150)
    return link.first


def _offset_from_view(link: Locator, values: Locator) -> int:
    """Pixels to wheel the values grid until the row of `link` is inside its view (0: it is)."""
    top, height = link.evaluate(
        "link => [parseFloat(link.parentElement.style.top), link.parentElement.offsetHeight]"
    )
    scroll, view = values.evaluate("grid => [grid.scrollTop, grid.clientHeight]")
    if top < scroll:
        return int(top - scroll)
    return int(max(0, top + height - (scroll + view)))


def metric_values(page: Page, metric: str) -> list[str]:
    """The compare view's values of `metric`, one per run, as shown.

    Names and values sit in two virtualised grids whose cells of one row share a `top`.
    """
    return wheel_to_metric(page, metric).evaluate(
        """link => {
            const cell = link.parentElement;
            let box = cell;
            const grid = '.ReactVirtualized__Grid__innerScrollContainer';
            while (box.querySelectorAll(grid).length < 2) box = box.parentElement;
            const values = box.querySelectorAll(grid)[1];
            return [...values.children]
                .filter(value => value.style.top === cell.style.top)
                .map(value => value.innerText.trim());
        }"""
    )


def test_compare_view_shows_the_evaluation_of_gan_l1_and_gray_side_by_side(
    page: Page, mlflow_ui: str, tracked_project: Path, artifacts: Path
) -> None:
    client = mlflow.MlflowClient(f"sqlite:///{tracked_project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(EXPERIMENT).experiment_id
    compared = (*VARIANTS, "gray")
    runs = {
        run.info.run_name: run.data.metrics
        for run in client.search_runs([experiment], "metrics.test_mae > -1")
    }
    assert set(runs) == set(compared)

    open_experiment(page, mlflow_ui)
    expand_parent_runs(page)
    for name in compared:  # tick the runs, as a user does, then Compare
        row = page.get_by_role("row").filter(has=page.get_by_role("link", name=name, exact=True))
        row.locator("input[type=checkbox]").first.check()
    page.get_by_role("button", name="Compare").click()
    expect(page.get_by_role("heading", name=re.compile(r"Comparing 3 Runs"))).to_be_visible()

    for metric in EVALUATION_METRICS:
        shown = metric_values(page, metric)
        assert len(shown) == len(compared), (metric, shown)
        for name, value in zip(compared, shown, strict=True):  # in the order ticked
            assert float(value) == pytest.approx(runs[name][metric], rel=5e-3, abs=5e-4), (
                metric, name, shown,
            )  # fmt: skip
    # The screenshot: the evaluation's rows of the three runs side by side.
    wheel_to_metric(page, "test_fd_classifier")
    page.get_by_text("Metrics", exact=True).first.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "mlflow-compare.png")
