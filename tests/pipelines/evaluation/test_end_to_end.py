"""The real `kedro run --pipelines evaluation` after ingestion, preprocessing and tiny training."""

import json
import math
import subprocess
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.conftest import archive_params, run_kedro

TINY_TRAINING = (
    "training.epochs=1,training.gan_epochs=1,training.batch_size=8,training.width=4,"
    "training.discriminator_width=4"
)
TINY_EVALUATION = (
    "evaluation.classifier.width=4,evaluation.classifier.epochs=1,evaluation.batch_size=8"
)
REPORTS = [
    "evaluation_metrics.csv",
    "evaluation_metrics.json",
    "evaluation_per_class.csv",
    "evaluation_metrics_chart.json",
    "evaluation_per_class_chart.json",
    "evaluation_samples.png",
    "evaluation_ab_distribution.png",
    "evaluation_hints_curve.csv",
    "evaluation_hints_curve.json",
    "evaluation_hints_curve_chart.json",
    "evaluation_hint_samples.png",
]


@pytest.fixture
def project(kedro_project: Path, tiny_archive: tuple[Path, str]) -> Path:
    """A temporary project with model input prepared."""
    run_kedro(
        kedro_project, "run", "--pipelines", "ingestion,preprocessing",
        "--params", archive_params(tiny_archive),
    )  # fmt: skip
    return kedro_project


def _log(result: subprocess.CompletedProcess) -> str:
    return " ".join((result.stdout + result.stderr).split())  # undo rich's line wrapping


def evaluation_run_metrics(project: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, float]:
    """The metrics of the newest MLflow run that has evaluation metrics."""
    monkeypatch.chdir(project)
    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    try:
        client = MlflowClient()
        experiment = client.get_experiment_by_name("image-colourisation")
        runs = client.search_runs(
            [experiment.experiment_id],
            "metrics.`evaluation.gray.mae` > 0",
            order_by=["start_time DESC"],
        )
        return runs[0].data.metrics
    finally:
        mlflow.set_tracking_uri(None)


def test_evaluation_reports_gan_l1_and_gray_rows(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_kedro(project, "run", "--pipelines", "training", "--params", TINY_TRAINING)
    # The GAN named on the command line (runtime_params), the L1 baseline as `latest`.
    gan_file = next((project / "data/06_models/generator_gan.pt").glob("*/generator_gan.pt"))
    evaluate = ("run", "--pipelines", "evaluation",
                "--params", f"{TINY_EVALUATION},evaluation.gan_model={gan_file}")  # fmt: skip
    first = run_kedro(project, *evaluate)
    assert "Training the semantic classifier" in _log(first)
    # The second evaluation finds the classifier the first one saved, and reuses it.
    second = run_kedro(project, *evaluate)
    assert "Reusing the semantic classifier" in _log(second)
    assert "Training the semantic classifier" not in _log(second)

    reports = project / "data/08_reporting"
    for name in REPORTS:
        assert (reports / name).stat().st_size > 0, name
    table = pd.read_csv(reports / "evaluation_metrics.csv")
    assert list(table["model"]) == ["gan", "l1", "gray"]
    assert table.loc[0, "source"] == str(gan_file)
    assert table.loc[1, "source"].startswith("data/06_models/generator_l1.pt/")
    numbers = table.drop(columns=["model", "source"])
    assert numbers.map(math.isfinite).all().all()
    assert table.set_index("model").loc["gray", "colourfulness"] == 0
    records = json.loads((reports / "evaluation_metrics.json").read_text())
    assert [record["model"] for record in records] == ["gan", "l1", "gray"]
    per_class = pd.read_csv(reports / "evaluation_per_class.csv")
    assert len(per_class) == 3 * per_class["class"].nunique()

    logged = evaluation_run_metrics(project, monkeypatch)
    assert logged["evaluation.gray.colourfulness"] == 0
    assert logged["evaluation.l1.mae"] == pytest.approx(table.loc[1, "mae"])
    assert 0 <= logged["evaluation.truth.semantic_accuracy"] <= 1
    assert logged["evaluation.gan.fd_classifier"] == pytest.approx(table.loc[0, "fd_classifier"])
    assert logged["evaluation.truth.fd_classifier_floor"] > 0

    # The hints curve: both generators trained with hints, the GAN with propagation, propagation
    # alone and the naive baseline.
    curve = pd.read_csv(reports / "evaluation_hints_curve.csv")
    rows = ("gan", "l1", "gan_propagation", "propagation", "naive")
    assert list(zip(curve["model"], curve["hints"], strict=True)) == [
        (model, count) for model in rows for count in (0, 1, 2, 5, 10, 20)
    ]
    assert curve.drop(columns="model").map(math.isfinite).all().all()
    assert json.loads((reports / "evaluation_hints_curve.json").read_text())[0]["hints"] == 0
    psnr = curve.set_index(["model", "hints"]).loc[("gan", 10), "psnr"]
    assert logged["evaluation.hints10.gan.psnr"] == pytest.approx(psnr)
