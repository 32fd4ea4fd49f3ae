"""notebooks/compare_runs.ipynb runs top to bottom, headless, on the runs of a tiny `kedro run`."""

import json
from pathlib import Path

import mlflow
import nbformat
import pytest
from nbclient import NotebookClient

from tests.project_copy import PROJECT_ROOT
from tests.tracked_runs import EXPERIMENT, TINY_TRAINING, VARIANTS

NOTEBOOK = PROJECT_ROOT / "notebooks" / "compare_runs.ipynb"


def execute(notebook: nbformat.NotebookNode) -> str:
    """Run every cell in a fresh kernel started in notebooks/; return all text it printed."""
    client = NotebookClient(
        notebook, timeout=120, kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )  # fmt: skip
    client.execute()
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            texts.append(output.get("text", "") + output.get("data", {}).get("text/plain", ""))
    return "\n".join(texts)


def test_compare_runs_notebook_plots_every_training_run_and_prints_the_evaluation(
    tracked_project: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = f"sqlite:///{tracked_project / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # A last cell hands the plotted data back to the test.
    notebook.cells.append(nbformat.v4.new_code_cell('print(curves.to_json(orient="records"))'))

    text = execute(notebook)

    assert f"MLflow store: {store}" in text
    figures = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    assert len(figures) == 1

    # The plotted curves are the store's per-epoch history of each training run.
    plotted = json.loads(notebook.cells[-1].outputs[0]["text"])
    client = mlflow.MlflowClient(store)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    training = client.search_runs([experiment.experiment_id], "metrics.val_l1 > -1")
    assert sorted(run.info.run_name for run in training) == sorted(VARIANTS)
    for run in training:
        label = next(p["run"] for p in plotted if p["run"].endswith(run.info.run_id[:6]))
        assert label.startswith(f"{run.info.run_name} ")
        for metric in ["val_l1", "val_psnr"]:
            expected = [
                (m.step, m.value) for m in client.get_metric_history(run.info.run_id, metric)
            ]
            got = [
                (p["epoch"], p["value"])
                for p in plotted
                if p["run"] == label and p["metric"] == metric
            ]
            assert len(got) == TINY_TRAINING["training.epochs"]
            assert [epoch for epoch, _ in sorted(got)] == [epoch for epoch, _ in sorted(expected)]
            assert [value for _, value in sorted(got)] == pytest.approx(
                [value for _, value in sorted(expected)], rel=1e-9
            )

    # The evaluation table: a row per model, in the order gan, l1, gray; gray has no colour.
    lines = text[text.index("evaluation of run") :].splitlines()
    header, rows = lines[1].split(), [line.split() for line in lines[2:] if line.strip()]
    assert [row[0] for row in rows][:3] == ["gan", "l1", "gray"]
    gray = dict(zip(header, rows[2][1:], strict=True))
    assert float(gray["colourfulness"]) == 0.0
    assert float(gray["mae"]) > 0


def test_compare_runs_notebook_is_committed_without_outputs() -> None:
    """Outputs hold somebody's run ids and numbers: the notebook in git stays clean."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)
