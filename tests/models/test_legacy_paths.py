"""Saved before the regroup into packages (December 2026), by that commit's code: a whole
generator pickled by torch (its pickle names `image_colourisation.models.Generator`) and a
generator logged to MLflow in the pt2 format (its graph names the same module). Both still
load and colour exactly as they did then. Remove with the re-export in `models/__init__.py`
once no saved run predates the regroup."""

from pathlib import Path

import mlflow
import numpy as np
import pytest
import torch

from image_colourisation.models.networks import Generator
from image_colourisation.serving.model_sources import load_generator

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy"
# The 8x8 lightness ramp whose ab the old code saved beside the models.
LIGHTNESS = torch.linspace(-1, 1, 64).reshape(1, 1, 8, 8)


def saved_output() -> np.ndarray:
    return np.load(LEGACY / "generator_output.npy")


def test_a_generator_pickled_under_the_old_module_path_loads_and_colours_as_before() -> None:
    pickled = (LEGACY / "generator_module.pt").read_bytes()
    assert b"image_colourisation.models\nGenerator" in pickled  # the old path, as saved
    module = torch.load(LEGACY / "generator_module.pt", weights_only=False)  # our own fixture
    assert type(module) is Generator
    with torch.no_grad():
        assert module(LIGHTNESS).numpy() == pytest.approx(saved_output(), abs=1e-6)


def test_a_generator_logged_to_mlflow_before_the_move_loads_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        with mlflow.start_run() as run:
            mlflow.log_artifacts(str(LEGACY / "mlflow_pt2_generator"), "generator")
        loaded = load_generator(f"runs:/{run.info.run_id}/generator")
    finally:
        mlflow.set_tracking_uri(None)
    assert isinstance(loaded, Generator)
    with torch.no_grad():
        assert loaded(LIGHTNESS).numpy() == pytest.approx(saved_output(), abs=1e-5)
