"""Kedro-Viz, in a real browser: every pipeline with its nodes, drawn in data layers."""

import json
import sys
import urllib.request
from pathlib import Path

from kedro.framework.project import pipelines as project_pipelines
from kedro.framework.startup import bootstrap_project
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.browser.servers import free_port, serve
from tests.conftest import run_kedro
from tests.project_copy import PROJECT_ROOT

# Kedro's data-engineering convention, in flow order (`data/01_raw` ... `data/08_reporting`).
LAYERS = [
    "raw", "intermediate", "primary", "feature", "model_input", "models", "model_output",
    "reporting",
]  # fmt: skip

# What the metadata panel shows for each reporting dataset: a chart, a picture, a tree, a table.
PREVIEWS = {
    "evaluation_metrics_chart": ".pipeline-plotly__preview .js-plotly-plot",
    "evaluation_per_class_chart": ".pipeline-plotly__preview .js-plotly-plot",
    "evaluation_samples": "img.pipeline-metadata__plot-image",
    "evaluation_ab_distribution": "img.pipeline-metadata__plot-image",
    "evaluation_metrics_json": ".pipeline-metadata__preview-json",
    "evaluation_metrics": ".preview-table",
    "split_class_counts": ".preview-table",
}


def registered_pipelines() -> dict[str, set[str]]:
    """Node names per pipeline, as the project's registry gives them to Kedro-Viz (`training`
    includes the nodes that keep and export the served model)."""
    bootstrap_project(PROJECT_ROOT)
    return {
        name: {node.name for node in pipeline.nodes}
        for name, pipeline in project_pipelines.items()
        if name != "__default__"
    }


def open_viz(page: Page, url: str) -> None:
    """Open Kedro-Viz with the "new feature" tour off (as Settings leaves it once a user has seen
    it) and the "new version" banner dismissed: both cover part of the flowchart."""
    page.add_init_script(
        "localStorage.setItem('KedroViz', JSON.stringify({showFeatureHints: false}))"
    )
    page.goto(url)
    expect(page.locator("[data-test=kedro-pipeline-selector]")).to_be_visible()
    page.wait_for_load_state("networkidle")
    banner = page.get_by_role("button", name="Dismiss")
    if banner.is_visible():
        banner.click()


def show_pipeline(page: Page, name: str) -> None:
    page.locator("[data-test=kedro-pipeline-selector] button.dropdown__label").click()
    page.get_by_role("option", name=name, exact=True).click()
    expect(page.locator("[data-test=kedro-pipeline-selector] .dropdown__label")).to_have_text(name)


def wait_for_tasks(page: Page, tasks: list[str], pipeline: str) -> None:
    """Wait until the chart's task nodes are exactly `tasks`, each once. Until the switch settles
    the previous chart's nodes fade out beside the new ones, and a node both charts share is
    drawn twice (or only the old copy is there yet)."""
    drawn = "[...document.querySelectorAll('g.pipeline-node[data-node-type=task]')]"
    script = (
        f"tasks => JSON.stringify({drawn}.map(n => n.textContent).sort()) == JSON.stringify(tasks)"
    )
    try:
        page.wait_for_function(script, arg=tasks, timeout=20_000)
    except PlaywrightTimeoutError:
        shown = page.evaluate(f"() => {drawn}.map(n => n.textContent).sort()")
        raise AssertionError(f"pipeline {pipeline!r}: drawn {shown}, expected {tasks}") from None


def expect_nodes_drawn(page: Page, pipelines: dict[str, set[str]]) -> None:
    """Pick each pipeline in the selector; its every node is drawn in the flowchart. Kedro-Viz
    draws a namespace (the photos pipeline's `photos.*` nodes) as one collapsed node, which
    may share its name with a dataset (`photos`, the user's photos)."""
    for name, nodes in pipelines.items():
        show_pipeline(page, name)
        tasks = sorted(node for node in nodes if "." not in node)
        wait_for_tasks(page, tasks, name)
        for node in tasks:
            drawn = page.locator("g.pipeline-node").get_by_text(node, exact=True)
            expect(drawn, f"node {node!r} of pipeline {name!r}").to_be_visible()
        for namespace in sorted({node.split(".")[0] for node in nodes if "." in node}):
            drawn = page.locator("g.pipeline-node").get_by_text(namespace, exact=True)
            expect(drawn.first, f"namespace {namespace!r} of pipeline {name!r}").to_be_visible()


def test_kedro_viz_draws_every_pipeline_with_its_nodes_in_layers(
    page: Page, kedro_viz: str, artifacts: Path
) -> None:
    pipelines = registered_pipelines()
    assert {"ingestion", "preprocessing", "training", "evaluation"} <= set(pipelines)

    # Every dataset in the graph the page draws carries one of the conventional layers.
    with urllib.request.urlopen(f"{kedro_viz}/api/main", timeout=30) as response:
        graph = json.load(response)
    datasets = {node["name"]: node["layer"] for node in graph["nodes"] if node["type"] == "data"}
    assert {name: layer for name, layer in datasets.items() if layer not in LAYERS} == {}

    open_viz(page, kedro_viz)
    expect_nodes_drawn(page, pipelines)

    show_pipeline(page, "__default__")
    page.set_viewport_size({"width": 1600, "height": 1300})  # room for every layer's label
    open_viz(page, kedro_viz)  # afresh: the whole flowchart fitted to the window
    page.get_by_role("button", name="Turn minimap off").click()  # it covers the bottom layer
    page.get_by_role("button", name="Reset zoom").click()
    # The layer bands are labelled in flow order: raw at the top, reporting at the bottom.
    bands = page.locator("li.pipeline-layer-name").all_inner_texts()
    assert bands == [layer for layer in LAYERS if layer in set(datasets.values())]
    page.screenshot(path=artifacts / "kedro-viz.png")


def test_kedro_viz_build_makes_a_static_site_that_opens(
    page: Page, tracked_project: Path, artifacts: Path
) -> None:
    run_kedro(tracked_project, "viz", "build", "--include-previews")
    site = tracked_project / "build"
    port = free_port()
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    url = f"http://127.0.0.1:{port}/"
    with serve(command, site, url, artifacts / "kedro-viz-build.log"):
        open_viz(page, url)
        pipelines = registered_pipelines()
        expect_nodes_drawn(page, {name: pipelines[name] for name in ["training", "evaluation"]})

        show_pipeline(page, "__default__")
        for dataset, preview in PREVIEWS.items():  # baked in by --include-previews
            page.locator(".pipeline-sidebar").get_by_role(
                "button", name=dataset, exact=True
            ).click()
            expect(page.locator(f".pipeline-metadata {preview}"), dataset).to_be_visible()
        page.screenshot(path=artifacts / "kedro-viz-build.png")
