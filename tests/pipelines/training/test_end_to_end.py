"""The real `kedro run --pipelines training` after ingestion/preprocessing, read back from MLflow."""

import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
import torch
from mlflow import MlflowClient

from image_colourisation.serving.model_sources import load_generator
from tests.conftest import archive_params, run_kedro

TINY_TRAINING = ",".join(
    [
        "training.epochs=2",
        "training.gan_epochs=2",
        "training.batch_size=8",
        "training.width=4",
        "training.discriminator_width=4",
        "training.sample_every=1",
        "training.sample_images=4",
    ]
)


def test_training_run_is_tracked_in_mlflow_and_saves_versioned_generators(
    kedro_project: Path, tiny_archive: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_kedro(
        kedro_project, "run", "--pipelines", "ingestion,preprocessing",
        "--params", archive_params(tiny_archive),
    )  # fmt: skip
    run_kedro(kedro_project, "run", "--pipelines", "training", "--params", TINY_TRAINING)

    monkeypatch.chdir(kedro_project)
    mlflow.set_tracking_uri(f"sqlite:///{kedro_project / 'mlflow.db'}")
    try:
        client = MlflowClient()
        experiment = client.get_experiment_by_name("image-colourisation")
        runs = {
            run.info.run_name: run
            for run in client.search_runs([experiment.experiment_id])
            if run.info.run_name in ("gan", "l1")
        }
        assert sorted(runs) == ["gan", "l1"]
        for variant, run in runs.items():
            params = run.data.params
            assert params["training.width"] == "4" and params["training.epochs"] == "2"
            assert params["training.adversarial_weight"] == ("0.5" if variant == "gan" else "0.0")
            assert client.get_run(run.data.tags["mlflow.parentRunId"]).info.run_name == "training"

            metrics = ["g_l1_loss", "val_l1", "val_psnr", "images_per_s", "epoch_seconds"]
            if variant == "gan":
                metrics += ["g_adv_loss", "d_loss", "d_real", "d_fake"]
            else:
                assert "d_loss" not in run.data.metrics  # no discriminator at all
            for name in metrics:
                history = client.get_metric_history(run.info.run_id, name)
                assert [point.step for point in history] == [1, 2], name

            samples = [a.path for a in client.list_artifacts(run.info.run_id, "samples")]
            assert "samples/epoch_002.png" in samples

            generator = load_generator(f"runs:/{run.info.run_id}/generator")
            with torch.no_grad():
                ab = generator(torch.rand(1, 1, 64, 32) * 2 - 1)
            assert ab.shape == (1, 2, 64, 32) and torch.isfinite(ab).all()
    finally:
        mlflow.set_tracking_uri(None)

    for variant in ("gan", "l1"):
        versions = list(
            (kedro_project / "data" / "06_models" / f"generator_{variant}.pt").iterdir()
        )
        assert len(versions) == 1
        assert load_generator(kedro_project / "data" / "06_models" / f"generator_{variant}.pt")
        checkpoint = kedro_project / "data" / "06_models" / "checkpoints" / variant / "last.pt"
        assert torch.load(checkpoint, weights_only=True)["epoch"] == 2


def test_bad_parameters_stop_the_run_before_any_work(kedro_project: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kedro", "run", "--pipelines", "training",
         "--params", "training.batch_size=0,training.device=tpu"],
        cwd=kedro_project, env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 2 and "Traceback" not in output, output
    assert output.strip().endswith(
        "Error: invalid parameters:\n"
        "  training.batch_size is 0; allowed: an integer in [1, 65536]\n"
        "  training.device is 'tpu'; allowed: one of auto, cpu, cuda"
    ), output
    assert not (kedro_project / "data" / "06_models" / "checkpoints").exists()
