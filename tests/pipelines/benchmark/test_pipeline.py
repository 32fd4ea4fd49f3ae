"""A real `kedro run --pipelines benchmark` on three small photos with tiny generators."""

import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from kedro.io import Version

from image_colourisation.datasets import ModelPayloadDataset
from image_colourisation.models.payloads import generator_payload
from tests.conftest import run_kedro
from tests.imagenet_weights import SHARED_WEIGHTS, needs_shared_weights
from tests.photo_models import real_photo, tiny_hint_generator, tiny_trained_generator


@needs_shared_weights
def test_kedro_run_benchmarks_a_folder_of_photos(
    kedro_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # a hub cache of its own
    for name, generator in [("gan", tiny_hint_generator()), ("l1", tiny_trained_generator())]:
        models = kedro_project / f"data/06_models/generator_{name}.pt"
        ModelPayloadDataset(str(models), version=Version(None, None), onnx=True).save(
            generator_payload(generator)
        )
    photos = tmp_path / "my photos"
    photos.mkdir()
    for name in ("coffee", "chelsea", "rocket"):
        real_photo(name).reduce(3).save(photos / f"{name}.jpg")

    params = f"benchmark.folder={photos},imagenet.weights_folder={SHARED_WEIGHTS}"
    run_kedro(kedro_project, "run", "--pipelines", "benchmark", "--params", params)

    reports = kedro_project / "data/08_reporting"
    table = pd.read_csv(reports / "benchmark_metrics.csv")
    assert list(zip(table["model"], table["hints"], strict=True)) == [
        ("gray", 0), ("gan", 0), ("gan", 5), ("l1", 0)
    ]  # fmt: skip
    assert (table["photos"] == 3).all()
    assert table["source"].str.contains("generator_gan.pt").sum() == 2
    per_photo = pd.read_csv(reports / "benchmark_per_photo.csv")
    assert len(per_photo) == 4 * 3 and set(per_photo["photo"]) == {
        "chelsea.jpg", "coffee.jpg", "rocket.jpg"
    }  # fmt: skip
    assert (reports / "benchmark_gains_and_losses.png").stat().st_size > 10_000
    assert (reports / "benchmark_metrics_chart.json").is_file()
    with sqlite3.connect(kedro_project / "mlflow.db") as store:
        logged = store.execute(
            "select runs.name, metrics.key from metrics join runs on runs.run_uuid = metrics.run_uuid"
        ).fetchall()
    assert {("gan", "photos_mae"), ("gan", "photos_hints5_kid"), ("l1", "photos_psnr"),
            ("gray", "photos_imagenet_agreement")} <= set(logged)  # fmt: skip
