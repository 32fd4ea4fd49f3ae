"""A real `kedro run --pipelines photos` on a folder of scikit-image's photographs, tiny sizes."""

import json
from pathlib import Path

import mlflow
import pandas as pd
import torch

from tests.conftest import run_kedro

TINY = (
    "photos.crop_size=32,photos.crops_per_photo=2,photos.training.epochs=1,"
    "photos.training.gan_epochs=1,photos.training.width=4,photos.training.discriminator_width=4,"
    "photos.training.batch_size=4,photos.classifier.epochs=1"
)


def test_kedro_run_photos_trains_evaluates_and_colourises(
    kedro_project: Path, photo_folder: tuple[Path, dict[str, str]]
) -> None:
    folder, broken = photo_folder
    run_kedro(
        kedro_project, "run", "--pipelines", "photos", "--params", f"photos.folder={folder},{TINY}"
    )

    reports = kedro_project / "data/08_reporting/photos"
    report = json.loads((reports / "ingestion_report.json").read_text())
    assert report["photos_used"] == 14 and report["skipped"] == len(broken)
    table = pd.read_csv(reports / "evaluation_metrics.csv")
    assert table["model"].tolist() == ["gan", "l1", "gray"]
    assert table["images"].min() >= 4
    payload = torch.load(
        next((kedro_project / "data/06_models/photos/generator_gan.pt").rglob("*.pt")),
        weights_only=True,
    )
    assert payload["render_size"] == 32 and payload["architecture"]["depth"] == 5
    assert report["splits"][2] == "test: 4 photos (topped up from 1 to the minimum of 4)"
    index = pd.read_csv(kedro_project / "data/02_intermediate/photos/index.csv")
    colourised = kedro_project / "data/07_model_output/photos/colourised"
    test_photos = sorted(index.loc[index["split"] == "test", "path"])
    assert sorted(p.relative_to(colourised).as_posix() for p in colourised.rglob("*.*")) == (
        test_photos
    )  # the held-out test photos by default (photos.colourise_folder names another folder)
    assert not (kedro_project / "data/06_models/generator_gan.pt").exists()  # CIFAR's untouched
    assert not (kedro_project / "data/08_reporting/evaluation_metrics.csv").exists()

    mlflow.set_tracking_uri(f"sqlite:///{kedro_project / 'mlflow.db'}")
    try:
        runs = mlflow.search_runs(search_all_experiments=True, output_format="list")
    finally:
        mlflow.set_tracking_uri(None)
    children = {run.info.run_name: run for run in runs if "mlflow.parentRunId" in run.data.tags}
    assert set(children) == {"photos-gan", "photos-l1", "photos-gray"}  # CIFAR-10's: gan, ...
    assert all("test_mae" in run.data.metrics for run in children.values())  # as for CIFAR-10
    # The real-photo benchmark on the same held-out photos, on the same runs.
    benchmark = pd.read_csv(reports / "benchmark_metrics.csv")
    assert benchmark["model"].tolist() == ["gray", "gan", "gan", "l1", "l1"]
    assert set(benchmark["photos"]) == {len(test_photos)}
    assert all("photos_mae" in run.data.metrics for run in children.values())
    assert "photos_hints5_mae" in children["photos-gan"].data.metrics
