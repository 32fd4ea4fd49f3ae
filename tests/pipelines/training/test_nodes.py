"""Training nodes called directly, as unit tests do: payload out, no stray MLflow runs."""

from pathlib import Path

import mlflow
import numpy as np
import pytest
import torch
from mlflow import MlflowClient

from image_colourisation.models.networks import Generator
from image_colourisation.models.payloads import (
    ModelFileError,
    generator_from_payload,
    generator_payload,
)
from image_colourisation.pipelines.training.config import project_training_params
from image_colourisation.pipelines.training.data import model_arrays
from image_colourisation.pipelines.training.nodes import train_gan, train_l1_baseline
from image_colourisation.pipelines.training.tracking import sample_grid
from tests.imagenet_weights import shared_imagenet_weights
from tests.pipelines.training.synthetic import synthetic_set
from tests.project_copy import PROJECT_ROOT


def _dataset(count: int, seed: int) -> dict[str, np.ndarray]:
    lightness, ab = synthetic_set(count, seed)
    return {"L": lightness, "ab": ab, "labels": np.zeros(count, np.int64)}


def test_nodes_return_payloads_and_open_no_mlflow_run_without_a_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    params = project_training_params(
        PROJECT_ROOT,
        epochs=1,
        batch_size=8,
        width=4,
        discriminator_width=4,
        device="cpu",
        checkpoint_dir="ckpt",
        imagenet_encoder=128,
        confidence=1.0,
    )
    try:
        l1_payload = train_l1_baseline(
            _dataset(16, 0), _dataset(4, 1), shared_imagenet_weights, params
        )
        gan_payload = train_gan(
            _dataset(16, 0), _dataset(4, 1), l1_payload, shared_imagenet_weights, params
        )
        imagenet = shared_imagenet_weights()
        for payload in (l1_payload, gan_payload):
            expected = {"width": 4, "depth": 5, "dropout": 0.5, "hints": True}
            expected |= {"imagenet_encoder": 128, "confidence": 1.0}  # as asked below
            assert payload["architecture"] == expected
            assert not generator_from_payload(payload).training
            # the encoder is frozen: after training it is still ImageNet's, statistics and all
            for name, value in imagenet.items():
                if name.startswith("features."):
                    assert torch.equal(payload["state_dict"][f"imagenet.{name}"], value), name
        assert mlflow.active_run() is None
        experiments = MlflowClient().search_experiments()
        assert MlflowClient().search_runs([e.experiment_id for e in experiments]) == []
    finally:
        mlflow.set_tracking_uri(None)
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["gan", "l1"]


def test_model_arrays_names_the_dataset_and_the_rule() -> None:
    with pytest.raises(ValueError, match="train_set lacks \\['ab'\\]"):
        model_arrays({"L": np.zeros((2, 1, 32, 32), np.float32)}, "train_set", 5)
    odd = {"L": np.zeros((2, 1, 40, 32), np.float32), "ab": np.zeros((2, 2, 40, 32), np.float32)}
    with pytest.raises(ValueError, match=r"validation_set has L \(2, 1, 40, 32\).*multiples of 32"):
        model_arrays(odd, "validation_set", 5)


def test_sample_grid_rows_are_gray_prediction_truth() -> None:
    lightness, ab = synthetic_set(3, 0)
    grid = sample_grid(lightness, np.zeros_like(ab), ab)
    assert grid.shape == (3 * 32, 3 * 32, 3) and grid.dtype == np.uint8
    gray, predicted, truth = grid[:32, :32], grid[:32, 32:64], grid[:32, 64:]
    assert np.array_equal(gray, predicted)  # the prediction here is ab = 0, i.e. gray
    assert not np.array_equal(gray, truth)
    channels = gray.astype(int)
    assert np.abs(channels - channels[..., :1]).max() <= 1  # gray is gray, up to rounding


def test_a_warm_start_from_a_baseline_that_does_not_fit_is_refused(tmp_path: Path) -> None:
    """`kedro run --nodes train_gan` reads generator_l1 from disk: it is checked first."""
    params = project_training_params(PROJECT_ROOT,
        epochs=1, batch_size=8, width=4, discriminator_width=4, device="cpu",
        checkpoint_dir=str(tmp_path / "ckpt"),
    )  # fmt: skip
    baseline = generator_payload(Generator(width=4))
    baseline["architecture"] = {"width": 1_000_000, "depth": 5, "dropout": 0.5}
    with pytest.raises(ModelFileError, match=r"^generator_l1 .* width is 1000000"):
        train_gan(_dataset(16, 0), _dataset(4, 1), baseline, shared_imagenet_weights, params)
    assert not (tmp_path / "ckpt" / "gan" / "last.pt").exists()
