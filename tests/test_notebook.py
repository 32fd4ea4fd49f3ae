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
    evaluation_cell = notebook.cells[-1]
    # Last cells hand the evaluation tables and the plotted data back to the test.
    notebook.cells.append(
        nbformat.v4.new_code_cell(
            "import json\nprint(json.dumps({run: t.to_dict('index') for run, t in tables.items()}))"
        )
    )
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

    # The evaluation table, shown as a table (HTML), not text: a row per model, in the order
    # gan, l1, gray; gray has no colour.
    shown = [output.get("data", {}) for output in evaluation_cell.outputs]
    assert any("Evaluation of run" in data.get("text/markdown", "") for data in shown)
    assert any("<table" in data.get("text/html", "") for data in shown)
    (table,) = json.loads(notebook.cells[-2].outputs[0]["text"]).values()
    assert list(table)[:3] == ["gan", "l1", "gray"]
    assert table["gray"]["colourfulness"] == 0.0
    assert table["gray"]["mae"] > 0


def test_compare_runs_notebook_is_committed_without_outputs() -> None:
    """Outputs hold somebody's run ids and numbers: the notebook in git stays clean."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


def test_compare_runs_notebook_points_at_the_docs_not_a_folder_beside_the_project() -> None:
    text = NOTEBOOK.read_text(encoding="utf-8")
    assert "../shared" not in text
    assert "docs/pipeline-evaluation.md" in text
